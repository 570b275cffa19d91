// CLIP zero-shot heads from class prompts (see ZeroShot.h).

#include "model/clip/ZeroShot.h"

#include "model/Error.h"
#include "model/io/ImageNetClasses.h"

#include <torch/torch.h>

#include <fstream>

namespace prisma::clip {

namespace {

// Prompts embedded per text-tower forward: 1,000 ImageNet prompts of 77 tokens in ~16 runs.
constexpr size_t kPromptBatch = 64;
// A class list is names, not a corpus.
constexpr std::streamoff kMaxClassFileBytes = 16 << 20;

torch::Tensor normalized(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

}  // namespace

std::string promptFor(const std::string& tmpl, const std::string& class_name) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl.compare(i, 2, "{}") == 0) {
      out += class_name;
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

std::vector<std::string> imageNetPromptClasses() {
  std::vector<std::string> out;
  for (const auto& line : io::imageNetClassNames()) out.push_back(line.substr(0, line.find(',')));
  return out;
}

std::vector<std::string> readClassFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path, "", "cannot open the class list");
  if (in.tellg() > kMaxClassFileBytes) throw Error(path, "", "larger than a class list can be");
  in.seekg(0);
  std::vector<std::string> classes;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\0') != std::string::npos) throw Error(path, "line " + std::to_string(number), "holds a NUL byte");
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    classes.push_back(line.substr(first, line.find_last_not_of(" \t") - first + 1));
  }
  if (classes.empty()) throw Error(path, "", "no class names (one per line)");
  return classes;
}

bool outputIsFeature(const io::LoadedModel& model) {
  const ViTConfig& c = model.model->cfg();
  if (c.return_type == ReturnType::PreLogits) return true;
  const bool clip_image_tower = model.format == "open_clip" || model.format == "hf-clip-vision";
  return clip_image_tower && c.class_names.empty();
}

ZeroShotHead buildZeroShotHead(ClipModel& model, const std::vector<std::string>& classes, const std::string& tmpl,
                               const PromptProgress& progress, const std::atomic<bool>* stop) {
  if (classes.empty()) throw Error("zero-shot", "classes", "needs at least one class");
  ZeroShotHead h;
  h.classes = classes;
  for (const auto& c : classes) h.prompts.push_back(promptFor(tmpl, c));
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < h.prompts.size(); i += kPromptBatch) {
    if (stop && stop->load()) throw Cancelled();
    const size_t end = std::min(h.prompts.size(), i + kPromptBatch);
    parts.push_back(model.encodeText({h.prompts.begin() + static_cast<std::ptrdiff_t>(i),
                                      h.prompts.begin() + static_cast<std::ptrdiff_t>(end)}));
    if (progress) progress(end, h.prompts.size());
  }
  torch::NoGradGuard no_grad;
  h.text_features = normalized(torch::cat(parts, 0));                                      // [C, E]
  h.weight = torch::matmul(model.visual_proj, h.text_features.t()) * model.logit_scale.exp();  // [D, C]
  const auto n = static_cast<int64_t>(classes.size());
  h.bias = model.logit_bias.defined() ? model.logit_bias.expand({n}).clone() : torch::zeros({n});
  return h;
}

std::shared_ptr<const ZeroShotHead> ZeroShotCache::get(ClipModel& model, const std::vector<std::string>& classes,
                                                       const std::string& tmpl) {
  // The key names the model's files and the exact prompts; '\n' cannot occur in a class
  // read from a file, so the joined key is unambiguous.
  std::string key = model.image.source + '\n' + tmpl;
  for (const auto& c : classes) key += '\n' + c;
  auto it = heads_.find(key);
  if (it != heads_.end()) return it->second;
  auto head = std::make_shared<const ZeroShotHead>(buildZeroShotHead(model, classes, tmpl));
  heads_.emplace(std::move(key), head);
  return head;
}

void installZeroShotHead(ClipModel& model, const ZeroShotHead& head) {
  HookedViTImpl& vit = *model.image.model;
  vit.replace_head(static_cast<int>(head.classes.size()), head.classes);
  torch::NoGradGuard no_grad;
  vit.head->W_H.copy_(head.weight);
  vit.head->b_H.copy_(head.bias);
  model.image.notes.push_back("zero-shot head over " + std::to_string(head.classes.size()) +
                              " class prompts (e.g. '" + head.prompts.front() +
                              "'): logits are CLIP's times the image embedding's norm");
}

torch::Tensor zeroShotLogits(ClipModel& model, const ZeroShotHead& head, const torch::Tensor& pixels) {
  torch::NoGradGuard no_grad;
  const torch::Tensor image = normalized(model.encodeImage(pixels));  // [images, E]
  return torch::matmul(image, head.text_features.t()) * model.logit_scale.exp() + head.bias;
}

}  // namespace prisma::clip
