#include "model/train/OptimizerState.h"

#include "model/Error.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"

#include <torch/torch.h>

#include <set>

namespace prisma::train {
namespace {

constexpr const char* kExpAvg = ".exp_avg";
constexpr const char* kExpAvgSq = ".exp_avg_sq";
constexpr const char* kStep = ".step";

// LibTorch's own key for a parameter's state (optimizer.cpp does the same).
std::string stateKey(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

}  // namespace

std::map<std::string, torch::Tensor> adamwStateTensors(const torch::optim::AdamW& optimizer,
                                                       const NamedParameters& params) {
  std::map<std::string, torch::Tensor> out;
  const auto& state = optimizer.state();
  for (const auto& [name, p] : params) {
    auto it = state.find(stateKey(p));
    if (it == state.end()) continue;
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out[name + kExpAvg] = s.exp_avg().detach().contiguous();
    out[name + kExpAvgSq] = s.exp_avg_sq().detach().contiguous();
    out[name + kStep] = torch::tensor({s.step()}, torch::kInt64);
  }
  return out;
}

void loadAdamWState(torch::optim::AdamW& optimizer, const NamedParameters& params,
                    const io::SafeTensorsFile& file) {
  auto& state = optimizer.state();
  state.clear();
  std::set<std::string> used;
  for (const auto& [name, p] : params) {
    const std::string stepKey = name + kStep;
    if (!file.contains(stepKey)) continue;  // never updated when saved
    for (const std::string& k : {name + kExpAvg, name + kExpAvgSq})
      if (!file.contains(k)) throw Error(file.path(), k, "missing (the optimizer state is incomplete)");
    torch::Tensor avg = file.tensor(name + kExpAvg), avgSq = file.tensor(name + kExpAvgSq);
    torch::Tensor step = file.tensor(stepKey);
    const std::pair<std::string, torch::Tensor> moments[] = {{name + kExpAvg, avg}, {name + kExpAvgSq, avgSq}};
    for (const auto& [k, t] : moments) {
      if (t.sizes() != p.sizes())
        throw Error(file.path(), k, "shape " + prisma::shapeString(t) + " does not match the parameter's " +
                                        prisma::shapeString(p));
      if (t.scalar_type() != p.scalar_type()) throw Error(file.path(), k, "dtype does not match the parameter's");
    }
    if (step.scalar_type() != torch::kInt64 || step.numel() != 1)
      throw Error(file.path(), stepKey, "must be one int64");
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(step.item<int64_t>());
    // Copies: the file's tensors may be views of a read-only mapping.
    s->exp_avg(avg.clone());
    s->exp_avg_sq(avgSq.clone());
    state[stateKey(p)] = std::move(s);
    used.insert({name + kExpAvg, name + kExpAvgSq, stepKey});
  }
  for (const auto& n : file.names())
    if (!used.count(n)) throw Error(file.path(), n, "state of a parameter this model does not train");
}

}  // namespace prisma::train
