#pragma once
// Owns the worker thread and its ExplorerWorker; the GUI talks to it only through queued
// calls and receives results as signals. Stale results (an older request finishing after
// a newer one was sent) are dropped here, so views never flicker back.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QObject>
#include <QThread>

#include <memory>
#include <vector>

namespace prisma::app {

class ExplorerWorker;

class ExplorerController : public QObject {
  Q_OBJECT

public:
  explicit ExplorerController(QObject* parent = nullptr);
  ~ExplorerController() override;

  void loadModel(const QString& path);
  void useRandomModel(const QString& preset);
  void computeImage(const ImageRequest& request);
  bool busy() const { return pending_ > 0; }

  // The patching board's requests; each returns the id its results will carry (results
  // of every request are passed on: the board keeps only those it still waits for).
  quint64 preparePatching(const ImageRequest& clean, const ImageRequest& corrupt);
  quint64 runPatchingSweep(const PatchingSetup& setup, bool exact, const StopToken& stop);
  quint64 runPatchedCell(const PatchingSetup& setup, const QVector<int>& cell);
  quint64 runSpatialPatch(const PatchingSetup& setup, const QString& kind, int layer, const QVector<int>& positions);

signals:
  void modelLoaded(const prisma::app::ModelSummary& summary);
  void modelFailed(const QString& message);
  void imageComputed(const prisma::app::AttentionResult& result);
  void imageFailed(const QString& message);
  void busyChanged(bool busy);
  void patchingPairReady(const prisma::app::PatchingPairInfo& info);
  void patchingProgress(const prisma::app::PatchingGrid& grid);
  void patchingGridReady(const prisma::app::PatchingGrid& grid);
  void patchedRunReady(const prisma::app::PatchedRun& run);
  void patchingFailed(const QString& message, quint64 requestId);

private:
  void started();
  void finished();

  QThread thread_;
  ExplorerWorker* worker_ = nullptr;  // lives on thread_, deleted when it finishes
  quint64 nextId_ = 1;
  quint64 latestModel_ = 0, latestImage_ = 0;
  int pending_ = 0;
  // Stop tokens of sweeps sent to the worker, set on shutdown so that closing the window
  // does not wait for a long sweep to finish.
  std::vector<std::weak_ptr<std::atomic<bool>>> sweeps_;
};

}  // namespace prisma::app
