#pragma once
// The explorer's worker: a QObject living on its own thread that owns the loaded model.
// Requests arrive as queued calls, results leave as values (DESIGN.md's one worker
// pattern); the GUI thread never runs model code. A failed load keeps the previous model.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QObject>

#include <memory>

namespace prisma::app {

class ExplorerWorker : public QObject {
  Q_OBJECT

public:
  ExplorerWorker();
  ~ExplorerWorker() override;

public slots:
  void loadModel(const QString& path, quint64 requestId);
  // Uses a model built in memory (benchmarks, tests) instead of a file.
  void useRandomModel(const QString& preset, quint64 requestId);
  void computeImage(const prisma::app::ImageRequest& request, quint64 requestId);

  // The patching board (app/explorer/patching): runs the pair once, then sweeps and single
  // patches over it. A sweep reports progress after each batch and stops between batches
  // once `stop` is set (by the GUI thread, directly).
  void preparePatching(const prisma::app::ImageRequest& clean, const prisma::app::ImageRequest& corrupt,
                       quint64 requestId);
  void runPatchingSweep(const prisma::app::PatchingSetup& setup, bool exact, const prisma::app::StopToken& stop,
                        quint64 requestId);
  void runPatchedCell(const prisma::app::PatchingSetup& setup, const QVector<int>& cell, quint64 requestId);
  void runSpatialPatch(const prisma::app::PatchingSetup& setup, const QString& kind, int layer,
                       const QVector<int>& positions, quint64 requestId);

signals:
  void modelLoaded(const prisma::app::ModelSummary& summary, quint64 requestId);
  void modelFailed(const QString& message, quint64 requestId);
  void imageComputed(const prisma::app::AttentionResult& result);
  void imageFailed(const QString& message, quint64 requestId);
  void patchingPairReady(const prisma::app::PatchingPairInfo& info);
  void patchingProgress(const prisma::app::PatchingGrid& grid);
  void patchingGridReady(const prisma::app::PatchingGrid& grid);
  void patchedRunReady(const prisma::app::PatchedRun& run);
  void patchingFailed(const QString& message, quint64 requestId);

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace prisma::app
