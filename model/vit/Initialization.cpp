#include "model/vit/Initialization.h"

#include "model/Error.h"
#include "model/vit/HookedViT.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

namespace prisma {
namespace {

constexpr double kDefaultStd = 0.02;  // normal / trunc_normal without an explicit std
// BaseViT's InitializationConfig (every 2023 config: Induction, Circle, MNIST, dSprites).
constexpr double kPrismaClsStd = 1e-6;
constexpr double kPrismaPosStd = 0.02;
// kaiming_normal_(nonlinearity='relu'): gain sqrt(2), and ViT-Prisma maps GELU to 'relu'.
constexpr double kReluGain2 = 2.0;
// torch.nn.init.trunc_normal_'s bounds: absolute values, not multiples of std.
constexpr double kTruncLow = -2.0, kTruncHigh = 2.0;

constexpr const char* kNormalName = "normal";
constexpr const char* kTruncNormalName = "trunc_normal";
constexpr const char* kVitPrismaName = "vit_prisma_2023";

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// torch.nn.init.trunc_normal_'s method: uniform over the truncated CDF range, then the
// inverse CDF through erfinv, then a clamp against rounding at the ends.
void truncNormal(torch::Tensor t, double std, at::Generator& gen) {
  auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double lo = cdf(kTruncLow / std), hi = cdf(kTruncHigh / std);
  t.uniform_(2.0 * lo - 1.0, 2.0 * hi - 1.0, gen);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0));
  t.clamp_(kTruncLow, kTruncHigh);
}

// A PyTorch Linear(in, out) weight, [out, in], Kaiming-normal on its fan-in `in`.
torch::Tensor kaimingLinear(int64_t in, int64_t out, at::Generator& gen) {
  return torch::empty({out, in}).normal_(0.0, std::sqrt(kReluGain2 / double(in)), gen);
}

std::string leafOf(const std::string& name) { return name.substr(name.rfind('.') + 1); }

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The schemes that treat every weight alike: LayerNorm weights 1, biases 0 (b, b_Q, b_H,
// bias, ...), everything else drawn.
template <typename Draw>
void initUniformly(HookedViTImpl& model, Draw draw) {
  for (auto& item : model.named_parameters()) {
    const std::string leaf = leafOf(item.key());
    torch::Tensor p = item.value();
    if (leaf == "w") p.fill_(1.0);
    else if (leaf[0] == 'b') p.zero_();
    else draw(p);
  }
}

void initVitPrisma2023(HookedViTImpl& model, at::Generator& gen) {
  const ViTConfig& c = model.cfg();
  const int64_t D = c.d_model, H = c.n_heads, dh = c.d_head, M = c.d_mlp;
  const double convBound = 1.0 / std::sqrt(double(c.n_channels) * c.patch_size * c.patch_size);
  for (auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    const std::string leaf = leafOf(name);
    torch::Tensor p = item.value();
    if (name == "cls_token") {
      p.normal_(0.0, kPrismaClsStd, gen);
    } else if (name == "pos_embed.W_pos") {
      truncNormal(p, kPrismaPosStd, gen);
    } else if (name == "embed.proj.weight" || name == "embed.proj.bias") {
      // nn.Conv2d's reset_parameters: kaiming_uniform_(a=sqrt(5)) gives the same bound
      // 1/sqrt(fan_in) as its bias; BaseViT never re-initialises the convolution.
      p.uniform_(-convBound, convBound, gen);
    } else if (leaf == "w") {
      p.fill_(1.0);  // LayerNorm
    } else if (leaf[0] == 'b') {
      p.zero_();  // LayerNorm bias and every Linear bias (constant_(bias, 0))
    } else if (endsWith(name, "attn.W_Q")) {
      // The fused qkv Linear(D, 3·H·dh): rows ordered (q|k|v, head, d_head), as BaseViT's
      // reshape(B, N, 3, H, dh) reads them. [3·H·dh, D] -> [3, H, D, dh]
      const torch::Tensor fused = kaimingLinear(D, 3 * H * dh, gen).view({3, H, dh, D}).permute({0, 1, 3, 2});
      const std::string prefix = name.substr(0, name.size() - 1);  // "...attn.W_"
      auto params = model.named_parameters();
      params[prefix + "Q"].copy_(fused[0]);
      params[prefix + "K"].copy_(fused[1]);
      params[prefix + "V"].copy_(fused[2]);
    } else if (endsWith(name, "attn.W_K") || endsWith(name, "attn.W_V")) {
      continue;  // drawn with W_Q
    } else if (endsWith(name, "attn.W_O")) {
      // proj Linear(H·dh, D): [D, H·dh] -> W_O [H, dh, D]
      p.copy_(kaimingLinear(H * dh, D, gen).t().reshape({H, dh, D}));
    } else if (endsWith(name, "mlp.W_in")) {
      p.copy_(kaimingLinear(D, M, gen).t());  // fc1: [M, D] -> [D, M]
    } else if (endsWith(name, "mlp.W_out")) {
      p.copy_(kaimingLinear(M, D, gen).t());  // fc2: [D, M] -> [M, D]
    } else if (name == "head.W_H") {
      p.copy_(kaimingLinear(D, p.size(1), gen).t());  // head: [classes, D] -> [D, classes]
    } else {
      // BaseViT had no such parameter (registers, a pooling head, ...): no rule to follow,
      // and leaving it at zero would be a silent choice.
      throw Error("initialisation", "model.init",
                  "vit_prisma_2023 has no rule for parameter '" + name +
                      "' (BaseViT has none like it): use normal(STD) or trunc_normal(STD)");
    }
  }
}

}  // namespace

std::string toString(const InitScheme& s) {
  switch (s.kind) {
    case InitScheme::Kind::Normal: return std::string(kNormalName) + "(" + number(s.std) + ")";
    case InitScheme::Kind::TruncNormal: return std::string(kTruncNormalName) + "(" + number(s.std) + ")";
    case InitScheme::Kind::VitPrisma2023: return kVitPrismaName;
  }
  return "?";
}

InitScheme initSchemeFromString(const std::string& text, const std::string& source, const std::string& field) {
  auto bad = [&](const std::string& why) -> Error {
    return Error(source, field,
                 why + " (expected " + kVitPrismaName + ", " + kNormalName + "(STD) or " + kTruncNormalName +
                     "(STD), e.g. normal(0.02))");
  };
  if (text == kVitPrismaName) return InitScheme::vitPrisma2023();
  const size_t open = text.find('(');
  const std::string kind = text.substr(0, open);
  if (kind != kNormalName && kind != kTruncNormalName) throw bad("unknown initialisation '" + text + "'");
  double std = kDefaultStd;
  if (open != std::string::npos) {
    if (text.back() != ')') throw bad("'" + text + "' lacks its closing parenthesis");
    const std::string arg = text.substr(open + 1, text.size() - open - 2);
    char* end = nullptr;
    std = std::strtod(arg.c_str(), &end);
    if (arg.empty() || end != arg.c_str() + arg.size() || !std::isfinite(std) || !(std > 0.0))
      throw bad("the standard deviation in '" + text + "' must be a positive number");
  }
  return kind == kNormalName ? InitScheme::normal(std) : InitScheme::truncNormal(std);
}

std::string describe(const InitScheme& s) {
  switch (s.kind) {
    case InitScheme::Kind::Normal:
      return "normal(" + number(s.std) + "): every weight N(0, " + number(s.std) +
             "), biases 0, LayerNorm weights 1";
    case InitScheme::Kind::TruncNormal:
      return "trunc_normal(" + number(s.std) + "), Hugging Face ViT's: Linear and patch weights, position embedding "
             "and CLS truncated-normal (std " + number(s.std) + ", cut at ±2), biases 0, LayerNorm 1 / 0";
    case InitScheme::Kind::VitPrisma2023:
      return "vit_prisma_2023, ViT-Prisma 2023 BaseViT's: every Linear Kaiming-normal, std √(2 / fan-in) (the "
             "fused q/k/v Linear's fan-in is d_model), biases 0; patch convolution PyTorch's default "
             "U(±1/√(C·P·P)); position embedding truncated-normal 0.02; CLS N(0, 1e-6); LayerNorm 1 / 0";
  }
  return "?";
}

void initialize(HookedViTImpl& model, const InitScheme& scheme, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  switch (scheme.kind) {
    case InitScheme::Kind::Normal:
      initUniformly(model, [&](torch::Tensor& p) { p.normal_(0.0, scheme.std, gen); });
      return;
    case InitScheme::Kind::TruncNormal:
      initUniformly(model, [&](torch::Tensor& p) { truncNormal(p, scheme.std, gen); });
      return;
    case InitScheme::Kind::VitPrisma2023:
      initVitPrisma2023(model, gen);
      return;
  }
}

}  // namespace prisma
