#pragma once
// The worker-thread side of the patching board: one clean / corrupted pair run through
// the explorer's model, and the engine's sweeps over it (model/interp/ActivationPatching.h
// for the exact grid, AttributionPatching.h for the one-backward-pass preview), returned
// as PatchingTypes values. Only the explorer's worker thread touches a session: its sweeps
// hook the shared model.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/interp/ActivationPatching.h"
#include "model/io/ModelLoader.h"

#include "app/explorer/patching/PatchingTypes.h"

#include <functional>
#include <vector>

namespace prisma::app {

class PatchingSession {
public:
  // Runs both single-image inputs [1, C, H, W] once and caches every hook.
  PatchingSession(io::LoadedModel& model, const torch::Tensor& clean, const torch::Tensor& corrupt);

  PatchingPairInfo info() const;
  const interp::PatchingPair& pair() const { return pair_; }

  // The engine metric a setup names, and its value on the unpatched runs.
  interp::Metric metric(const PatchingSetup& setup) const;
  double cleanMetric(const PatchingSetup& setup) const;
  double corruptMetric(const PatchingSetup& setup) const;

  // The exact sweep, reporting the grid so far after each batch; `stop` ends it early.
  PatchingGrid exactSweep(const PatchingSetup& setup, const std::atomic<bool>* stop,
                          const std::function<void(const PatchingGrid&)>& onProgress);
  // Attribution patching, on the exact grid's scale (corrupt + predicted change).
  PatchingGrid attributionSweep(const PatchingSetup& setup);
  // One cell of setup.component, with the patched run's prediction.
  PatchedRun patchCell(const PatchingSetup& setup, const QVector<int>& cell);
  // The free-form patch: `positions` (tokens) of component `kind` at `layer`, all at once.
  PatchedRun patchPositions(const PatchingSetup& setup, const QString& kind, int layer, const QVector<int>& positions);

private:
  PatchingGrid gridFrom(const interp::PatchComponent& component, const PatchingSetup& setup,
                        const torch::Tensor& values) const;
  PatchedRun runOne(const PatchingSetup& setup, const interp::PatchComponent& component,
                    const interp::CellIndex& cell);

  io::LoadedModel& model_;
  std::vector<interp::PatchComponent> components_;  // those this model has, offered in order
  interp::PatchingPair pair_;
  QImage cleanImage_, corruptImage_;
};

}  // namespace prisma::app
