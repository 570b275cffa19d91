#include "app/cli/ClipCommands.h"

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "model/clip/ClipTokenizer.h"

#include <torch/torch.h>

#include <ostream>

namespace prisma::cli {

namespace {
constexpr int kOpenAiContext = 77;  // every OpenAI / open_clip CLIP's context length
}

std::shared_ptr<const clip::ZeroShotHead> prepareClipRun(clip::ClipModel& model, const ClipRunOptions& options) {
  if (options.classes.empty()) return nullptr;
  const auto classes = options.classes == "imagenet" ? clip::imageNetPromptClasses() : clip::readClassFile(options.classes);
  auto head = std::make_shared<const clip::ZeroShotHead>(clip::buildZeroShotHead(model, classes, options.tmpl));
  clip::installZeroShotHead(model, *head);
  return head;
}

io::LoadedModel loadModelForPatching(const std::string& path, const std::string& classes, const std::string& tmpl) {
  if (classes.empty()) {
    if (tmpl != clip::kDefaultTemplate) throw UsageError("--template needs --classes FILE|imagenet");
    return io::loadModel(path);
  }
  if (!clip::hasTextTower(path))
    throw UsageError("--classes needs a model with a text tower (an open_clip CLIP); " + path + " has none");
  clip::ClipModel model = clip::loadClip(path);
  prepareClipRun(model, {{}, classes, tmpl});
  return model.image;  // shares the image tower, which now carries the zero-shot head
}

void addClipOutputs(clip::ClipModel& model, const torch::Tensor& pixels, const ClipRunOptions& options,
                    const clip::ZeroShotHead* head, std::map<std::string, torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  const torch::Tensor image = model.encodeImage(pixels);  // [images, embed_dim]
  tensors["image_embeds"] = image;
  if (head) tensors["logits"] = clip::zeroShotLogits(model, *head, pixels);
  if (options.texts.empty()) return;
  const torch::Tensor tokens = model.tokenize(options.texts);  // [texts, context]
  const torch::Tensor text = model.text->forward(tokens);
  tensors["text_tokens"] = tokens;
  tensors["text_embeds"] = text;
  tensors["logits_per_image"] = clip::clipLogits(image, text, model.logit_scale, model.logit_bias);
}

// prisma tokenize TEXT... [--context N] [--vocab FILE.txt.gz]: one row of ids per text.
int tokenizeCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"context", "vocab"}, {});
  if (a.positionals().empty()) throw UsageError("tokenize needs at least one TEXT");
  const int context = a.intValue("context", kOpenAiContext, IntRange{2, 1 << 20});
  const clip::ClipTokenizer tok =
      a.has("vocab") ? clip::ClipTokenizer::fromFile(a.value("vocab")) : clip::ClipTokenizer::bundled();
  const torch::Tensor ids = tok.tokenize(a.positionals(), context);
  for (int64_t r = 0; r < ids.size(0); ++r) {
    for (int64_t i = 0; i < ids.size(1); ++i) out << (i ? " " : "") << ids[r][i].item<int64_t>();
    out << "\n";
  }
  return 0;
}

}  // namespace prisma::cli
