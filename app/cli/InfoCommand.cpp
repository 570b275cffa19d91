#include "app/cli/CliArgs.h"
#include "app/cli/ClipCommands.h"
#include "app/cli/Commands.h"

#include "model/clip/ClipModel.h"
#include "model/io/ModelLoader.h"
#include "model/runtime/Runtime.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <ostream>

namespace prisma::cli {

namespace {

void printRuntime(std::ostream& out) {
  const auto blas = runtime::blasInfo();
  const auto cpu = runtime::cpuFeatures();
  out << "LibTorch:  " << TORCH_VERSION << ", " << at::get_num_threads() << " intra-op threads\n"
      << "BLAS:      " << blas.vendor << " (" << blas.library << ")";
  if (!blas.core.empty()) out << ", core " << blas.core;
  if (blas.threads > 0) out << ", " << blas.threads << " threads";
  out << "\n";
  if (const char* ct = std::getenv("OPENBLAS_CORETYPE")) out << "           OPENBLAS_CORETYPE=" << ct << "\n";
  out << "CPU:       " << runtime::cpuModel() << " (" << runtime::availableCores() << " cores"
      << (cpu.avx512 ? ", AVX-512" : cpu.avx2 ? ", AVX2" : "") << ")\n";
}

}  // namespace

int infoCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"classes", "template"}, {"json"});
  if (a.positionals().empty()) {
    printRuntime(out);
    return 0;
  }
  // --classes: the model as `prisma patch --classes` sweeps it, its zero-shot head installed.
  const auto m = loadModelForPatching(a.positional(0, "MODEL"), a.value("classes"),
                                      a.value("template", clip::kDefaultTemplate));
  const auto& cfg = m.model->cfg();
  out << "Model:     " << m.name << "\n"
      << "Source:    " << m.source << "\n"
      << "Format:    " << m.format << "\n"
      << "Params:    " << m.model->parameter_count() << "\n"
      << "Shape:     " << cfg.image_size << "x" << cfg.image_size << "x" << cfg.n_channels
      << ", patch " << cfg.patch_size << ", " << cfg.n_tokens() << " tokens, d_model " << cfg.d_model
      << ", " << cfg.n_heads << " heads x " << cfg.d_head << ", " << cfg.n_layers << " layers"
      << (cfg.attn_only ? ", attention-only" : ", MLP " + std::to_string(cfg.d_mlp)) << ", "
      << cfg.n_classes << " classes\n"
      << "Preprocess: " << m.preprocess.width << "x" << m.preprocess.height << ", "
      << datasets::toString(m.preprocess.interpolation) << ", mean/std per channel\n";
  // What a researcher asks first of a pretrained model: which family, which towers, how it
  // pools, whether it has registers, a zero-shot head, and other input sizes.
  const bool text_tower = clip::hasTextTower(a.positional(0, "MODEL"));
  out << "Family:    " << m.format << "\n"
      << "Towers:    " << (text_tower ? "image + text (CLIP)" : "image") << "\n"
      << "Pooling:   " << toString(cfg.pooling)
      << (cfg.pooling == Pooling::Map ? " (attention-pool head)" : "")
      << (cfg.final_ln_after_pool ? ", final LayerNorm after pooling" : ", final LayerNorm on every token") << "\n"
      << "Registers: " << cfg.n_registers << "\n"
      << "Zero-shot: ";
  if (a.has("classes"))
    out << cfg.n_classes << " classes, template '" << a.value("template", clip::kDefaultTemplate) << "' (from "
        << a.value("classes") << ")\n";
  else
    out << (text_tower ? "none installed; --classes FILE|imagenet [--template T] builds one" : "none (no text tower)")
        << "\n";
  out << "Output:    "
      << (clip::outputIsFeature(m) ? "a feature vector (no classes: patching scores it by cosine_to_clean)"
                                   : std::to_string(cfg.n_classes) + " class logits")
      << "\n"
      << "Interpolation: "
      << (cfg.pos_interpolation == PosInterpolation::None ? "none (native size only)" : toString(cfg.pos_interpolation))
      << "\n";
  for (const auto& n : m.notes) out << "Note:      " << n << "\n";
  nlohmann::json j = cfg;
  if (!a.flag("json") && j["class_names"].size() > 10)  // keep the terminal readable
    j["class_names"] = std::to_string(cfg.class_names.size()) + " names";
  out << "Config:\n" << j.dump(2) << "\n";
  printRuntime(out);
  return 0;
}

}  // namespace prisma::cli
