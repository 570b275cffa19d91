#pragma once
// The kinds of component a patching sweep can patch, as plain data: no LibTorch, so the
// GUI's request types and the command line can name a component without parsing strings
// across thread boundaries. PatchComponent.h turns a kind into the grid and the setter
// that do the patching.
//
//   resid_pre, resid_mid, resid_post, attn_out, mlp_out   [layer, pos]
//   head_z, head_q, head_k, head_v, head_pattern          [layer, head]
//   head_z_by_pos                                         [layer, pos, head]
//
// A model has a kind when it has the hook: attention-only models have no resid_mid and
// no mlp_out, so availableComponents() leaves them out instead of a caller catching an
// error to find out.

#include "model/vit/Config.h"

#include <string>
#include <vector>

namespace prisma::interp {

enum class ComponentKind {
  ResidPre, ResidMid, ResidPost, AttnOut, MlpOut,
  HeadZ, HeadZByPos, HeadQ, HeadK, HeadV, HeadPattern
};

// Every kind, in the order the command line and the GUI offer them.
const std::vector<ComponentKind>& allComponentKinds();
// The command-line names ("resid_pre", ..., "head_pattern"), in the same order.
const std::vector<std::string>& componentNames();
std::string toString(ComponentKind kind);
// Throws prisma::Error naming the known components for an unknown name.
ComponentKind componentKindFromName(const std::string& name);

// Whether the model has the hook `kind` patches.
bool hasComponent(ComponentKind kind, const ViTConfig& cfg);
// The kinds the model has, in allComponentKinds() order.
std::vector<ComponentKind> availableComponents(const ViTConfig& cfg);

// Whether `kind`'s hook has a position axis covering all heads, so that a set of positions
// can be patched at once (makePositionsComponent): not head_z_by_pos or head_pattern.
bool patchesPositions(ComponentKind kind);

}  // namespace prisma::interp
