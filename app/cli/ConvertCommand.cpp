// `prisma convert MODEL OUT_DIR [--storage float32|float16|int8] [--fold-ln]
// [--center-writing-weights] [--fold-value-biases]`: any loadable model written in the
// project's own format (config.json + model.safetensors in HookedViT names + model card),
// then reloaded from OUT_DIR and run beside the original on a fixed random batch, so a
// conversion that does not reproduce the model is reported instead of silently kept.
// Float32 must reproduce it exactly; the narrower storages report how far the outputs
// moved, because that is what the user trades for the smaller file. The weight-processing
// flags (TransformerLens' processing, model/vit/WeightProcessing.h) rewrite the weights
// into an equivalent, easier-to-read form; the check then compares the processed model
// with the original within float rounding rather than bit for bit.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/ModelArgs.h"
#include "app/cli/OutputChecks.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/OutputPaths.h"
#include "model/io/WeightStorage.h"
#include "model/vit/WeightProcessing.h"

#include <torch/torch.h>

#include <algorithm>
#include <ostream>

namespace prisma::cli {

namespace {

io::WeightStorage storageOption(const CliArgs& a) {
  const std::string s = a.value("storage", io::toString(io::WeightStorage::Float32));
  for (const auto storage : {io::WeightStorage::Float32, io::WeightStorage::Float16, io::WeightStorage::Int8Blocks})
    if (s == io::toString(storage)) return storage;
  throw UsageError("--storage: '" + s + "' is not one of float32, float16, int8");
}

// Processed weights compute the same function in another order of float operations.
constexpr double kProcessedRelTolerance = 1e-4;

constexpr const char* kFoldLn = "fold-ln";
constexpr const char* kCenterWriting = "center-writing-weights";
constexpr const char* kFoldValueBiases = "fold-value-biases";

}  // namespace

int convertCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"heads", "storage"}, {kAllowNanFlag, kFoldLn, kCenterWriting, kFoldValueBiases});
  const std::string model_path = a.positional(0, "MODEL");
  const std::string dir = a.positional(1, "OUT_DIR");
  const io::WeightStorage storage = storageOption(a);
  io::refuseOutputOverInputs(dir, io::OutputKind::Folder, io::modelInputPaths(model_path));
  auto m = io::loadModel(model_path, loadOptions(a));
  for (const auto& n : m.notes) out << "note: " << n << "\n";
  checkFiniteWeights(m, dir, a.flag(kAllowNanFlag));
  WeightProcessingOptions processing;
  processing.fold_ln = a.flag(kFoldLn);
  processing.center_writing_weights = a.flag(kCenterWriting);
  processing.fold_value_biases = a.flag(kFoldValueBiases);
  const bool processed = processing.fold_ln || processing.center_writing_weights || processing.fold_value_biases;
  HookedViT original = m.model;  // a handle: the processed model is a new one
  if (processed) {
    m.model = processWeights(original, processing);
    std::string steps;
    for (const auto& [on, name] : {std::pair{processing.fold_ln, "LayerNorm folded"},
                                   std::pair{processing.center_writing_weights, "writing weights centred"},
                                   std::pair{processing.fold_value_biases, "value biases folded"}})
      if (on) steps += std::string(steps.empty() ? "" : ", ") + name;
    m.notes.push_back("weights processed: " + steps);
  }
  io::saveModel(m, dir, storage);

  auto back = io::loadModel(dir);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = checkBatch(m.model->cfg());
  const torch::Tensor want = original->forward(x), got = back.model->forward(x);
  out << "converted " << m.format << " model " << model_path << " -> " << dir << " (prisma format, "
      << io::toString(storage) << " weights; ";
  if (storage == io::WeightStorage::Float32 && processed) {
    const double rel = (got - want).norm().item<double>() / std::max(want.norm().item<double>(), 1e-30);
    if (!(rel <= kProcessedRelTolerance))
      throw Error(dir, "model.safetensors",
                  "the processed model's outputs differ from the original's by relative L2 " + std::to_string(rel));
    out << "processed weights reproduce the original's outputs within relative L2 " << rel << ")\n";
  } else if (storage == io::WeightStorage::Float32) {
    // NaN-aware, for a model written with --allow-nan.
    if (!torch::allclose(want, got, /*rtol=*/0.0, /*atol=*/0.0, /*equal_nan=*/true))
      throw Error(dir, "model.safetensors", "the converted model does not reproduce the original's outputs");
    out << "reloaded outputs identical)\n";
  } else {
    const double rel = (got - want).norm().item<double>() / std::max(want.norm().item<double>(), 1e-30);
    const double agree = got.argmax(-1).eq(want.argmax(-1)).to(torch::kFloat64).mean().item<double>();
    out << "reloaded outputs within relative L2 " << rel << ", top-1 agrees on " << agree * 100.0
        << "% of the check batch)\n";
  }
  return 0;
}

}  // namespace prisma::cli
