#include "app/cli/CliArgs.h"
#include "app/cli/ClipCommands.h"
#include "app/cli/Commands.h"
#include "app/cli/OutputChecks.h"
#include "model/io/InputSpec.h"
#include "model/io/OutputPaths.h"

#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <optional>
#include <ostream>

namespace prisma::cli {

int runCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"input", "out", "names", "text", "classes", "template"}, {kAllowNanFlag});
  // A bad pattern is a usage error before anything is loaded.
  const auto patterns = a.values("names");
  NameFilter filter = filters::all();
  try {
    if (!patterns.empty()) filter = filters::regex(patterns);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--names: ") + e.what());
  }
  std::vector<std::string> inputs = io::modelInputPaths(a.positional(0, "MODEL"));
  inputs.push_back(io::inputSpecPath(a.required("input")));
  io::refuseOutputOverInputs(a.required("out"), io::OutputKind::File, inputs);
  // A CLIP (an open_clip model with a text tower) also writes its embeddings and logits.
  std::optional<clip::ClipModel> clip_model;
  if (clip::hasTextTower(a.positional(0, "MODEL"))) clip_model = clip::loadClip(a.positional(0, "MODEL"));
  else if (a.has("text") || a.has("classes"))
    throw UsageError("--text and --classes need a model with a text tower (an open_clip CLIP)");
  const ClipRunOptions clip_options{a.values("text"), a.value("classes"), a.value("template", clip::kDefaultTemplate)};
  const auto zero_shot = clip_model ? prepareClipRun(*clip_model, clip_options) : nullptr;
  auto m = clip_model ? clip_model->image : io::loadModel(a.positional(0, "MODEL"));
  const torch::Tensor input = io::loadInput(a.required("input"), m);
  const std::string path = a.required("out");

  torch::NoGradGuard no_grad;
  auto run = m.model->run_with_cache(input, filter);
  std::map<std::string, torch::Tensor> tensors = run.cache.tensors();
  tensors["output"] = run.output;
  // Hugging Face ViTModel's pooler sits beside the network, on its pre-logits output.
  if (m.pooler) tensors["pooler_output"] = (*m.pooler)(run.output);
  if (clip_model) addClipOutputs(*clip_model, input, clip_options, zero_shot.get(), tensors);
  checkFiniteResults(tensors, path, a.flag(kAllowNanFlag));
  io::writeSafeTensors(path, tensors, {{"model", m.source}, {"input", a.required("input")}});
  out << "wrote " << tensors.size() << " tensors (" << run.cache.size() << " hooks + output) to "
      << path << "\n";
  return 0;
}

}  // namespace prisma::cli
