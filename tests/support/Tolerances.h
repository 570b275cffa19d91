#pragma once
// Every tolerance the suites compare against, in one place, each with the reason for its
// size. A suite includes this and never defines its own bound.

namespace prisma::test {

// Relative L2 against a golden tensor written by the reference library itself (Hugging
// Face, timm, PyTorch): the same float32 arithmetic in a different order.
constexpr double kGoldenTolerance = 1e-5;
// Relative L2 against the patching / attribution / rollout references: sums over many
// cells and a backward pass accumulate more rounding than one forward.
constexpr double kPatchTolerance = 1e-4;
// Two exact patching methods of ours on the same inputs (max absolute difference).
constexpr double kExactTolerance = 1e-4;
// The same engine on the same inputs through two code paths: equal up to float rounding.
constexpr double kEngineTolerance = 1e-5;
// LibTorch's patching board against the PyTorch reference on a whole board.
constexpr double kBoardReferenceTolerance = 2e-3;
// Mean absolute pixel difference against Hugging Face's image processor (Pillow's
// resampler re-implemented).
constexpr double kPreprocessTolerance = 0.02;
// CLIP's logits_per_image against open_clip: cosine similarities times exp(logit_scale)
// = 100, so the embeddings' rounding is magnified a hundredfold.
constexpr double kLogitsPerImageTolerance = 1e-4;
// Outputs of a model stored as float16 / int8 against its float32 weights (relative L2).
constexpr double kReducedStorageTolerance = 5e-2;
// Data-parallel weights against one process's (max absolute difference after a few steps).
constexpr double kWeightTolerance = 1e-6;

}  // namespace prisma::test
