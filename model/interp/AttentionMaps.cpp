#include "model/interp/AttentionMaps.h"
#include "model/vit/HookNames.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <limits>

namespace prisma::interp {

namespace {

std::string patternHook(int layer) { return hookName(layer, "attn.hook_pattern"); }

void checkPattern(const torch::Tensor& pattern, const ViTConfig& cfg) {
  const int64_t T = cfg.n_tokens();
  if (pattern.dim() != 4 || pattern.size(2) != T || pattern.size(3) != T)
    throw Error("attention", "pattern", "expected [batch, head, " + std::to_string(T) + ", " + std::to_string(T) + "]");
}

// Grid coordinates (row, col) of every patch token, [n_patches, 2].
torch::Tensor patchCoords(const ViTConfig& cfg) {
  const int64_t g = cfg.grid_size();
  torch::Tensor idx = torch::arange(g * g, torch::kFloat32);
  return torch::stack({torch::floor(idx / g), torch::fmod(idx, g)}, 1);
}

}  // namespace

Query Query::parse(const std::string& text) {
  if (text == "cls" || text == "CLS") return {};
  const auto comma = text.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument(text);
    size_t used_r = 0, used_c = 0;
    const int r = std::stoi(text.substr(0, comma), &used_r);
    const int c = std::stoi(text.substr(comma + 1), &used_c);
    if (used_r != comma || used_c != text.size() - comma - 1) throw std::invalid_argument(text);
    return patch(r, c);
  } catch (const std::logic_error&) {
    throw Error("attention", "query", "expected 'cls' or 'ROW,COL', got '" + text + "'");
  }
}

int64_t tokenIndex(const Query& query, const ViTConfig& cfg) {
  if (query.cls) {
    if (!cfg.cls_token) throw Error("attention", "query", "the model has no CLS token");
    return 0;
  }
  const int g = cfg.grid_size();
  if (query.row < 0 || query.row >= g || query.col < 0 || query.col >= g)
    throw Error("attention", "query",
                "patch (" + std::to_string(query.row) + ", " + std::to_string(query.col) + ") outside the " +
                    std::to_string(g) + "x" + std::to_string(g) + " grid");
  return cfg.n_prefix() + int64_t(query.row) * g + query.col;
}

torch::Tensor queryMap(const torch::Tensor& pattern, int64_t query_token, const ViTConfig& cfg) {
  checkPattern(pattern, cfg);
  if (query_token < 0 || query_token >= cfg.n_tokens()) throw Error("attention", "query", "token out of range");
  const int64_t g = cfg.grid_size();
  torch::Tensor row = pattern.select(2, query_token);                        // [batch, head, k]
  row = row.narrow(2, cfg.n_prefix(), cfg.n_patches());                      // patch keys only
  return row.reshape({pattern.size(0), pattern.size(1), g, g}).contiguous();  // [batch, head, g, g]
}

torch::Tensor queryMapsAllLayers(const ActivationCache& cache, int64_t query_token, const ViTConfig& cfg) {
  std::vector<torch::Tensor> layers;
  for (int l = 0; l < cfg.n_layers; ++l)
    layers.push_back(queryMap(cache[patternHook(l)], query_token, cfg).transpose(0, 1));  // [head, batch, g, g]
  return torch::stack(layers);  // [layer, head, batch, g, g]
}

torch::Tensor tokenMatrixMap(const torch::Tensor& matrix, const ViTConfig& cfg) {
  const int64_t T = cfg.n_tokens(), g = cfg.grid_size();
  if (matrix.dim() != 3 || matrix.size(1) != T || matrix.size(2) != T)
    throw Error("attention", "matrix", "expected [batch, tokens, tokens]");
  torch::Tensor row = cfg.cls_token ? matrix.select(1, 0) : matrix.mean(1);  // [batch, k]
  return row.narrow(1, cfg.n_prefix(), cfg.n_patches()).reshape({matrix.size(0), g, g}).contiguous();
}

HeadSummaries summarizePattern(const torch::Tensor& pattern, const ViTConfig& cfg) {
  checkPattern(pattern, cfg);
  torch::NoGradGuard no_grad;
  const torch::Tensor A = pattern.to(torch::kFloat64);  // [batch, head, q, k]
  HeadSummaries s;
  // xlogy(0, 0) = 0: a zero probability adds nothing to the entropy.
  s.entropy = -torch::xlogy(A, A).sum(-1).mean(torch::IntArrayRef{0, 2});
  s.to_self = torch::diagonal(A, 0, 2, 3).mean(torch::IntArrayRef{0, 2});
  if (cfg.cls_token) {
    s.to_cls = A.select(3, 0).mean(torch::IntArrayRef{0, 2});
  } else {
    s.to_cls = torch::full({A.size(1)}, std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
  }
  const int64_t first = cfg.n_prefix(), P = cfg.n_patches();
  const torch::Tensor coords = patchCoords(cfg).to(torch::kFloat64);    // [P, 2]
  const torch::Tensor dist = torch::cdist(coords, coords);                // [P, P], Euclidean
  const torch::Tensor patches = A.narrow(2, first, P).narrow(3, first, P);  // [batch, head, P, P]
  const torch::Tensor weighted = (patches * dist).sum(-1) / patches.sum(-1).clamp_min(
      std::numeric_limits<double>::min());
  s.mean_distance = weighted.mean(torch::IntArrayRef{0, 2});
  for (torch::Tensor* t : {&s.entropy, &s.to_cls, &s.to_self, &s.mean_distance}) *t = t->to(torch::kFloat32);
  return s;
}

HeadSummaries summarizeHeads(const ActivationCache& cache, const ViTConfig& cfg) {
  std::vector<torch::Tensor> e, c, self, d;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const HeadSummaries s = summarizePattern(cache[patternHook(l)], cfg);
    e.push_back(s.entropy);
    c.push_back(s.to_cls);
    self.push_back(s.to_self);
    d.push_back(s.mean_distance);
  }
  return {torch::stack(e), torch::stack(c), torch::stack(self), torch::stack(d)};
}

}  // namespace prisma::interp
