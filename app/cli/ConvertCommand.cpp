// `prisma convert MODEL OUT_DIR`: any loadable model written in the project's own format
// (config.json + model.safetensors in HookedViT names + model card), then reloaded from
// OUT_DIR and run beside the original on a fixed random batch, so a conversion that does
// not reproduce the model is reported instead of silently kept.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/ModelArgs.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"

#include <torch/torch.h>

#include <ostream>

namespace prisma::cli {

int convertCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"heads"}, {});
  const std::string model_path = a.positional(0, "MODEL");
  const std::string dir = a.positional(1, "OUT_DIR");
  auto m = io::loadModel(model_path, loadOptions(a));
  for (const auto& n : m.notes) out << "note: " << n << "\n";
  io::saveModel(m, dir);

  auto back = io::loadModel(dir);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = checkBatch(m.model->cfg());
  if (!torch::equal(m.model->forward(x), back.model->forward(x)))
    throw Error(dir, "model.safetensors", "the converted model does not reproduce the original's outputs");
  out << "converted " << m.format << " model " << model_path << " -> " << dir
      << " (prisma format; reloaded outputs identical)\n";
  return 0;
}

}  // namespace prisma::cli
