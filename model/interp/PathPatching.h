#pragma once
// Path patching (Wang et al. 2022, "Interpretability in the Wild"; as in TransformerLens /
// ARENA's IOI exercises). Activation patching of a head measures its *total* effect, via
// every later component. Path patching measures only the part that flows from a set of
// sender heads into chosen receivers: the query / key / value inputs of receiver heads,
// or the final residual stream (the senders' direct effect on the logits).
//
// In this project's direction (clean values patched into the corrupted run):
//  1. Run the corrupted image with the senders' outputs (hook_z) set to their clean
//     values and every other head frozen to its corrupted output; MLPs are recomputed,
//     so they count as part of the residual path. Record the receivers' inputs: q / k / v
//     of receiver heads (hook_q/k/v at that head -- the head's query is a function of its
//     query input alone, so patching one patches the other), or the final residual.
//  2. Run the corrupted image again with only the receivers' recorded inputs patched in,
//     everything else recomputed, and score it. With the final residual as a receiver
//     the score is that of run 1's output.
//
// Receiver heads are not frozen in run 1 (their inputs that are not receivers are: they
// stay corrupted), so an effect may pass through several receivers in turn. For receivers
// in one layer -- the usual case -- this is exactly Wang et al.'s algorithm; and with
// every later head and the final residual as receivers, path patching of a sender equals
// activation patching of it, which the tests check.
//
// Runs start at the first layer that can change (start_at_layer), and a sweep over every
// sender head batches one sender per row, as activationPatch does.

#include "model/interp/ActivationPatching.h"

namespace prisma::interp {

struct HeadRef {
  int layer = 0;
  int head = 0;
};

struct ReceiverHead {
  int layer = 0;
  int head = 0;
  bool q = true, k = true, v = true;  // which of its inputs receive
};

struct PathReceivers {
  std::vector<ReceiverHead> heads;
  bool final_resid = false;
};

// Every head of the layers after `layer` with all three inputs, plus the final residual:
// all paths from a sender at `layer` to the output.
PathReceivers allDownstream(const ViTConfig& cfg, int layer);

// The metric with `senders` path-patched into `receivers`. pair.clean and pair.corrupt
// must hold hook_z, and for receiver heads hook_q/k/v, of every layer (runPair's default).
double pathPatch(HookedViTImpl& model, const PatchingPair& pair, const std::vector<HeadRef>& senders,
                 const PathReceivers& receivers, const Metric& metric);

// Each head as the only sender in turn: a [layer, head] grid of metric values.
// options.method is ignored (always the fast path); batches, progress, stop and a subset
// of cells work as in activationPatch.
PatchResult pathPatchSweep(HookedViTImpl& model, const PatchingPair& pair, const PathReceivers& receivers,
                           const Metric& metric, const PatchOptions& options = {});

}  // namespace prisma::interp
