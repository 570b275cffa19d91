#pragma once
// What a patching sweep patches: a component is a hook point in every layer plus a way to
// cut it into cells. This is TransformerLens' patching.py design: one generic patching
// loop, and per component a tiny *setter* that copies one cell's clean value into the
// corrupted activation. Examples (the axes are the grid the sweep returns):
//
//   resid_pre    [layer, pos]        blocks.L.hook_resid_pre[:, pos]   (also resid_mid,
//                                    resid_post, attn_out, mlp_out)
//   head_z       [layer, head]       blocks.L.attn.hook_z[:, :, head]  (every position;
//                                    also head_q, head_k, head_v)
//   head_z_by_pos [layer, pos, head] blocks.L.attn.hook_z[:, pos, head]
//   head_pattern [layer, head]       blocks.L.attn.hook_pattern[:, head]
//   positions    [layer]             a chosen set of positions of one of the above, e.g.
//                                    a region of the clean image dragged onto the corrupted
//
// The first axis is always the layer: the fast patching path starts each patched run at
// that layer from the corrupted run's cached residual stream.
//
// For attribution patching a component also says how to sum (clean − corrupted) ·
// gradient over each of its cells (a reduction over the hook tensor's other axes); when a
// custom component leaves that out, the setter itself defines the cells.

#include "model/interp/ComponentKind.h"
#include "model/vit/Config.h"

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace prisma::interp {

enum class Axis { Layer, Pos, Head };
std::string toString(Axis axis);

// One cell of a grid: its index along each axis, layer first.
using CellIndex = std::vector<int64_t>;

// Copies the clean value of `cell` into batch row `row` of the corrupted activation.
// act:   the activation at the hook, one row per patched run, [batch, ...]; modify in place
// clean: the clean run's activation at the same hook, [1, ...]
using PatchSetter =
    std::function<void(torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex& cell)>;

// (clean − corrupted) · gradient at one layer's hook, [1, ...] -> that layer's cells,
// shaped as the grid's axes after the layer (a 0-d tensor when the layer is the only axis).
using AttributionReducer = std::function<torch::Tensor(const torch::Tensor& product)>;

struct PatchComponent {
  std::string name;                // "resid_pre", "head_z", "resid_pre@positions", ...
  std::vector<Axis> axes;          // Layer first
  std::vector<int64_t> shape;      // the grid, one size per axis
  std::string hook_suffix;         // "hook_resid_pre", "attn.hook_z": blocks.L.<suffix>
  PatchSetter setter;
  AttributionReducer reduce;       // optional

  std::string hook_name(int64_t layer) const;
  int64_t cell_count() const;
  std::vector<CellIndex> cells() const;            // the whole grid, row-major
  int64_t offset(const CellIndex& cell) const;     // row-major position in the grid
  void check(const CellIndex& cell) const;         // throws prisma::Error when outside the grid
};

// The grid of `kind` for a model. Throws prisma::Error when the model has no such hook
// (resid_mid and mlp_out of attention-only models: ask hasComponent first).
PatchComponent makeComponent(ComponentKind kind, const ViTConfig& cfg);

// The free-form patch: the clean values of every position in `positions` at once, at the
// hook of `kind` (one with a position axis: residuals, attn_out, mlp_out, and head z/q/k/v
// with all heads), one cell per layer. Throws prisma::Error for an empty set, a position
// outside the model's tokens, or a kind without positions.
PatchComponent makePositionsComponent(ComponentKind kind, std::vector<int64_t> positions,
                                      const ViTConfig& cfg);

}  // namespace prisma::interp
