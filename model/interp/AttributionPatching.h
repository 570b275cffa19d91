#pragma once
// Attribution patching (Nanda 2023; Syed, Rager & Conmy 2023): a linear approximation of
// activation patching that costs one backward pass for a whole grid instead of one
// forward pass per cell.
//
// Patching an activation a from its corrupted value a_k to its clean value a_c changes the
// metric m by about the first-order Taylor term
//     m(a_c) − m(a_k) ≈ (a_c − a_k) · ∂m/∂a |_(corrupted run),
// summed over the elements the cell patches. So: one clean forward pass (cache), one
// corrupted forward pass that caches activations and one backward pass from the metric
// that caches their gradients -- then every cell of every grid is a sum of an
// elementwise product. Parameters do not need gradients, so the backward pass costs about
// one forward pass.
//
// The result is the predicted *change* of the metric, i.e. comparable with
// activationPatch(...) − corrupt metric. It is exact for components the metric depends on
// linearly (e.g. the final residual under a logit difference, up to LayerNorm) and a
// good guide elsewhere; large attention-pattern changes are where it is least accurate.

#include "model/interp/ActivationPatching.h"

namespace prisma::interp {

// One grid per component, all from the same single backward pass. Uses pair.clean for
// the clean activations (runPair must have cached the components' hooks) and reruns the
// corrupted image with gradients; pair.corrupt is not needed.
std::vector<torch::Tensor> attributionPatch(HookedViTImpl& model, const PatchingPair& pair,
                                            const std::vector<PatchComponent>& components,
                                            const Metric& metric);

torch::Tensor attributionPatch(HookedViTImpl& model, const PatchingPair& pair,
                               const PatchComponent& component, const Metric& metric);

// The same from caches already made: the clean activations, and the corrupted run's
// activations and gradients (HookedViTImpl::run_with_cache_and_grads). Cells come from the
// component's reducer, or -- when it has none -- from its setter, one cell at a time.
torch::Tensor attributionFromCaches(const PatchComponent& component, const ActivationCache& clean,
                                    const ActivationCache& corrupt, const ActivationCache& grads);

}  // namespace prisma::interp
