// `prisma eval MODEL --dataset NAME [--split test|train]`: accuracy and top-5 of any
// loadable model (mouse:NAME included) on a whole part of a dataset, split and
// preprocessed as the trainer does. A mouse's metrics.json supplies its dataset's seed,
// label factor and subsample unless the options say otherwise.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/OutputChecks.h"

#include "model/io/ModelLoader.h"
#include "model/io/ResourcePaths.h"
#include "model/zoo/MouseEvaluation.h"
#include "model/zoo/ZooBuilder.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <optional>
#include <cstdio>
#include <ostream>

namespace prisma::cli {

namespace {

constexpr const char* kUsage =
    "usage: prisma eval MODEL --dataset NAME [--split test|train] [--seed S] [--label-factor F]\n"
    "                   [--subsample N] [--data PATH] [--batch B]";

// The dataset the model was trained on, when its folder records it (zoo mice do).
std::optional<zoo::EvalDataset> recordedDataset(const io::LoadedModel& m) {
  try {
    const nlohmann::json j = zoo::readMouseMetrics(m.source);
    if (j.is_object() && j.contains("dataset")) return zoo::evalDatasetFromJson(j.at("dataset"), m.source);
  } catch (const std::exception&) {
    // Not a zoo folder: the options and defaults decide.
  }
  return std::nullopt;
}

}  // namespace

int evalCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"dataset", "split", "seed", "label-factor", "subsample", "data", "batch"}, {kAllowNanFlag});
  if (a.positionals().size() != 1) throw UsageError(std::string("expected one MODEL\n") + kUsage);
  if (!a.has("dataset")) throw UsageError(std::string("--dataset is required\n") + kUsage);
  const std::string split = a.value("split", "test");
  if (split != "test" && split != "train") throw UsageError("--split must be test or train, got '" + split + "'");
  const int batch = a.intValue("batch", zoo::kDefaultEvalBatch, kCount);
  if (batch < 1) throw UsageError("--batch must be positive");

  const io::LoadedModel model = io::loadModel(a.positionals()[0]);
  zoo::EvalDataset d;
  d.name = a.value("dataset");
  if (auto rec = recordedDataset(model); rec && rec->name == d.name) d = *rec;
  if (a.has("seed")) {
    const int s = a.intValue("seed", 0, kNonNegative);
    if (s < 0) throw UsageError("--seed needs a non-negative integer");
    d.seed = static_cast<uint64_t>(s);
  }
  if (a.has("label-factor")) d.label_factor = a.value("label-factor");
  if (a.has("subsample")) {
    const int n = a.intValue("subsample", 0, kNonNegative);
    if (n < 0) throw UsageError("--subsample needs a non-negative integer");
    d.subsample = static_cast<uint64_t>(n);
  }
  if (a.has("data")) d.path = a.value("data");

  const auto t0 = std::chrono::steady_clock::now();
  const auto m = zoo::evaluateModel(model, d, split == "test" ? train::Part::Test : train::Part::Train, batch);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The accuracy of NaN logits is a number too; the loss says they were NaN.
  if (m.count > 0) checkFiniteResults({{"loss", torch::tensor(m.loss)}}, model.source, a.flag(kAllowNanFlag));
  char line[256];
  std::snprintf(line, sizeof line, "accuracy: %.4f (%lld / %lld)\ntop5:     %.4f\nloss:     %.4f\n",
                m.top1, static_cast<long long>(std::llround(m.top1 * double(m.count))), static_cast<long long>(m.count),
                m.top5, m.loss);
  out << "model:    " << model.name << " (" << model.source << ")\n"
      << "dataset:  " << d.name << " " << split << " (seed " << d.seed
      << (d.name.rfind("dsprites", 0) == 0 ? ", label " + d.label_factor + ", subsample " + std::to_string(d.subsample)
                                             : std::string())
      << ")\n"
      << line;
  std::snprintf(line, sizeof line, "time:     %.2f s (%.0f images/s)\n", s, double(m.count) / s);
  out << line;
  return 0;
}

}  // namespace prisma::cli
