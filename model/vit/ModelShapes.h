#pragma once
// The two reference shapes the benchmarks and the explorer's random models are built on, so
// every table that says "ViT-B/16" or "mouse" measures the same architecture.

#include "model/vit/Config.h"

namespace prisma {

// google/vit-base-patch16-224: 224×224 RGB, patch 16, 12 layers × 12 heads of 64, MLP 3072,
// 1000 classes, LayerNorm eps 1e-12 (Hugging Face's).
inline ViTConfig vitBase16Shape() {
  constexpr double kHfLayerNormEps = 1e-12;
  ViTConfig c;
  c.image_size = 224; c.patch_size = 16; c.n_channels = 3;
  c.d_model = 768; c.n_heads = 12; c.d_head = 64; c.n_layers = 12; c.d_mlp = 3072; c.n_classes = 1000;
  c.eps = kHfLayerNormEps;
  return c;
}

// A ViT mouse at the original width: 32×32 grey, patch 8, 4 layers × 4 heads of 32, MLP 512,
// 10 classes (the MNIST preset's shape).
inline ViTConfig mouseShape() {
  ViTConfig c;
  c.image_size = 32; c.patch_size = 8; c.n_channels = 1;
  c.d_model = 128; c.n_heads = 4; c.d_head = 32; c.n_layers = 4; c.d_mlp = 512; c.n_classes = 10;
  return c;
}

}  // namespace prisma
