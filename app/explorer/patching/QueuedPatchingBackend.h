#pragma once
// The patching presenter's backend in the explorer: each request is a job on the model
// thread (app/explorer/jobs/PatchingJobs.h) whose result goes back to the presenter with
// its id. Stale results are dropped twice over: by the queue (a newer job on the channel)
// and by the presenter (an id it no longer waits for).

#include "app/explorer/patching/PatchingPresenter.h"

namespace prisma::app {

class ExplorerController;

class QueuedPatchingBackend : public PatchingBackend {
public:
  // `presenter` receives the results, on the GUI thread; nothing after it is destroyed.
  QueuedPatchingBackend(ExplorerController* controller, PatchingPresenter* presenter)
      : controller_(controller), presenter_(presenter) {}

  quint64 preparePair(const ImageRequest& clean, const ImageRequest& corrupt) override;
  quint64 sweep(const PatchingSetup& setup, bool exact) override;
  quint64 patchCell(const PatchingSetup& setup, const QVector<int>& cell) override;
  quint64 patchRegion(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                      const QVector<int>& positions) override;
  void cancel(quint64 id) override;

  void setPresenter(PatchingPresenter* presenter) { presenter_ = presenter; }

private:
  ExplorerController* controller_;
  PatchingPresenter* presenter_;
};

}  // namespace prisma::app
