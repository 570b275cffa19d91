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

void addClipOutputs(clip::ClipModel& model, const torch::Tensor& image_embeds, const std::vector<std::string>& texts,
                    std::map<std::string, torch::Tensor>& tensors) {
  tensors["image_embeds"] = image_embeds;
  if (texts.empty()) return;
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = model.tokenize(texts);  // [texts, context]
  const torch::Tensor text = model.text->forward(tokens);
  tensors["text_tokens"] = tokens;
  tensors["text_embeds"] = text;
  tensors["logits_per_image"] = clip::clipLogits(image_embeds, text, model.logit_scale, model.logit_bias);
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
