#pragma once
// The model-thread side of the patching board: one clean / corrupted pair run through the
// explorer's model, and the engine's sweeps over it (model/interp/ActivationPatching.h
// for the exact grid, AttributionPatching.h for the one-backward-pass preview), returned
// as PatchingTypes values. Only the model thread touches a session: its sweeps hook the
// shared model. The session holds the model it was run on, so a model replaced at one of
// its sweep's checkpoints stays alive until the sweep has stopped.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/interp/ActivationPatching.h"
#include "model/io/ModelLoader.h"

#include "app/explorer/patching/PatchingTypes.h"

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace prisma::app {

class PatchingSession {
public:
  // Called after each batch of an exact sweep with a way to make the grid so far: only
  // called when the update will be shown, since it copies the whole grid.
  using BatchDone = std::function<void(const std::function<PatchingGrid()>& gridSoFar)>;

  // Runs both single-image inputs [1, C, H, W] once and caches the hooks its components patch.
  PatchingSession(std::shared_ptr<io::LoadedModel> model, const torch::Tensor& clean, const torch::Tensor& corrupt);

  PatchingPairInfo info() const;
  const interp::PatchingPair& pair() const { return pair_; }

  // The engine metric a setup names (classes checked against the model), and its value
  // on the unpatched runs.
  interp::Metric metric(const PatchingSetup& setup) const;
  double cleanMetric(const PatchingSetup& setup) const;
  double corruptMetric(const PatchingSetup& setup) const;

  // The exact sweep; `stop` is checked between batches, `afterBatch` called after each.
  PatchingGrid exactSweep(const PatchingSetup& setup, const std::atomic<bool>* stop, const BatchDone& afterBatch);
  // Attribution patching, on the exact grid's scale (corrupt + predicted change).
  PatchingGrid attributionSweep(const PatchingSetup& setup);
  // One cell of setup.component, with the patched run's prediction.
  PatchedRun patchCell(const PatchingSetup& setup, const QVector<int>& cell);
  // The free-form patch: `positions` (tokens) of component `kind` at `layer`, all at once.
  PatchedRun patchPositions(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                            const QVector<int>& positions);

private:
  const ViTConfig& cfg() const { return model_->model->cfg(); }
  interp::PatchComponent component(interp::ComponentKind kind) const;
  PatchingGrid gridFrom(const interp::PatchComponent& component, interp::ComponentKind kind,
                        const PatchingSetup& setup, const torch::Tensor& values) const;
  PatchedRun runOne(const PatchingSetup& setup, const interp::PatchComponent& component,
                    const interp::CellIndex& cell);

  std::shared_ptr<io::LoadedModel> model_;
  std::vector<interp::ComponentKind> kinds_;  // those this model has, offered in order
  interp::PatchingPair pair_;
  QImage cleanImage_, corruptImage_;
};

}  // namespace prisma::app
