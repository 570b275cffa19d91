// `prisma export MODEL OUT_DIR --format hf|timm`: an upload-ready folder in Hugging Face's
// or timm's own layout, refused with the reason when the architecture does not map. The
// written folder is read back with the project's own loader for that library and must
// give the same outputs.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/ModelArgs.h"
#include "app/cli/OutputChecks.h"

#include "model/Error.h"
#include "model/io/ModelExport.h"
#include "model/io/ModelLoader.h"
#include "model/io/OutputPaths.h"

#include <torch/torch.h>

#include <ostream>

namespace prisma::cli {

namespace {
// Outputs of an exported model may differ from the original by float rounding only where
// the target library stores a weight differently (e.g. folded LayerNorms written out).
constexpr double kExportTolerance = 1e-5;
}  // namespace

int exportCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"format", "heads"}, {});
  const std::string model_path = a.positional(0, "MODEL");
  const std::string dir = a.positional(1, "OUT_DIR");
  io::ExportFormat format;
  try {
    format = io::exportFormatFromString(a.required("format"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  io::refuseOutputOverInputs(dir, io::OutputKind::Folder, io::modelInputPaths(model_path));
  auto m = io::loadModel(model_path, loadOptions(a));
  checkFiniteWeights(m, dir, /*allowNan=*/false, /*flagOffered=*/false);
  io::exportModel(m, dir, format);

  auto back = io::loadModel(dir);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = checkBatch(m.model->cfg());
  const torch::Tensor expected = m.model->forward(x), got = back.model->forward(x);
  const double err = ((got - expected).norm() / expected.norm().clamp_min(1e-30)).item<double>();
  if (!(err <= kExportTolerance))
    throw Error(dir, "model.safetensors", "the exported model does not reproduce the original (relative L2 " +
                                              std::to_string(err) + ")");
  out << "exported " << m.format << " model " << model_path << " -> " << dir << " as " << io::toString(format) << " ("
      << back.format << "; reloaded outputs " << (err == 0.0 ? "identical" : "within " + std::to_string(err)) << ")\n";
  return 0;
}

}  // namespace prisma::cli
