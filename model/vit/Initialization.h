#pragma once
// How a fresh model's parameters are drawn. Without LayerNorm (the original mice) the
// initial scale of every weight sets the size of the signal through the network, so the
// scheme decides whether a recipe learns at all: with every weight at N(0, 0.02) the
// initial logits barely differ between images and the 2-layer Induction mouse underfits
// (test 0.51 after 3,000 updates), while ViT-Prisma's own He initialisation reaches 0.99.
//
// Schemes, as written in a config ("init"):
//   vit_prisma_2023     BaseViT's init_weights (ViT-Prisma 2023, config.init.weight_type
//                       'he'): every Linear Kaiming-normal on its fan-in with the ReLU
//                       gain (std sqrt(2 / fan_in); GELU maps to 'relu' there), its bias 0;
//                       the patch convolution left at PyTorch's Conv2d default,
//                       U(±1/sqrt(C·P·P)) for weight and bias; position embedding
//                       trunc-normal(0.02) cut at ±2; CLS N(0, 1e-6); LayerNorm 1 / 0.
//                       BaseViT's q, k and v are one Linear(d_model, 3·d_model): its fan-in
//                       is d_model, so W_Q/W_K/W_V get std sqrt(2 / d_model), drawn as that
//                       fused [3·H·dh, D] matrix and split into heads as BaseViT reshapes it.
//                       W_O is its `proj` Linear(H·dh, D): std sqrt(2 / (H·dh)).
//   normal(STD)         every weight N(0, STD), biases 0, LayerNorm weights 1: what this
//                       project did before schemes existed (normal(0.02), the default, so
//                       configs written before the field load and train as they did).
//   trunc_normal(STD)   Hugging Face ViT's _init_weights (initializer_range STD, 0.02 in
//                       every released ViT): Linear and patch-convolution weights, position
//                       embedding and CLS trunc-normal(STD) cut at ±2 (torch's absolute
//                       default bounds), biases 0, LayerNorm 1 / 0. timm's ViT differs only
//                       in CLS (N(0, 1e-6)) and the patch convolution (PyTorch's default).

#include <cstdint>
#include <string>

namespace prisma {

class HookedViTImpl;

struct InitScheme {
  enum class Kind { Normal, TruncNormal, VitPrisma2023 };
  Kind kind = Kind::Normal;
  double std = 0.02;  // Normal and TruncNormal only

  static InitScheme normal(double std) { return {Kind::Normal, std}; }
  static InitScheme truncNormal(double std) { return {Kind::TruncNormal, std}; }
  static InitScheme vitPrisma2023() { return {Kind::VitPrisma2023, 0.0}; }

  bool operator==(const InitScheme& o) const {
    return kind == o.kind && (kind == Kind::VitPrisma2023 || std == o.std);
  }
  bool operator!=(const InitScheme& o) const { return !(*this == o); }
};

// "vit_prisma_2023", "normal(0.02)", "trunc_normal(0.02)": the form configs store.
std::string toString(const InitScheme& scheme);
// Parses that form ("normal" and "trunc_normal" alone mean std 0.02). Throws prisma::Error
// naming `source` and `field` on anything else, listing the schemes.
InitScheme initSchemeFromString(const std::string& text, const std::string& source, const std::string& field);
// One sentence for model cards: the scheme and its formulas.
std::string describe(const InitScheme& scheme);

// Draws every parameter of `model` by `scheme`, deterministically in `seed` (one CPU
// generator, parameters in registration order). normal(0.02) draws exactly the numbers
// HookedViTImpl::init_weights(seed) draws.
void initialize(HookedViTImpl& model, const InitScheme& scheme, uint64_t seed);

}  // namespace prisma
