#include "app/explorer/patching/QueuedPatchingBackend.h"

#include "app/explorer/jobs/PatchingJobs.h"

namespace prisma::app {

namespace {

template <class R, class P>
quint64 postTo(ExplorerController* controller, PatchingPresenter* p, ModelJob<R, P> job,
               void (PatchingPresenter::*done)(quint64, const R&)) {
  job.done = [p, done](quint64 id, const R& r) { (p->*done)(id, r); };
  job.failed = [p](quint64 id, const QString& message) { p->onFailed(id, message); };
  return controller->post(p, std::move(job));
}

}  // namespace

quint64 QueuedPatchingBackend::preparePair(const ImageRequest& clean, const ImageRequest& corrupt) {
  return postTo(controller_, presenter_, jobs::preparePatching(clean, corrupt), &PatchingPresenter::onPairReady);
}

quint64 QueuedPatchingBackend::sweep(const PatchingSetup& setup, bool exact) {
  auto job = jobs::patchingSweep(setup, exact);
  PatchingPresenter* p = presenter_;
  job.progress = [p](quint64 id, const PatchingGrid& g) { p->onProgress(id, g); };
  return postTo(controller_, p, std::move(job), &PatchingPresenter::onGridReady);
}

quint64 QueuedPatchingBackend::patchCell(const PatchingSetup& setup, const QVector<int>& cell) {
  return postTo(controller_, presenter_, jobs::patchCell(setup, cell), &PatchingPresenter::onPatchedRun);
}

quint64 QueuedPatchingBackend::patchRegion(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                                           const QVector<int>& positions) {
  return postTo(controller_, presenter_, jobs::patchRegion(setup, kind, layer, positions),
                &PatchingPresenter::onPatchedRun);
}

void QueuedPatchingBackend::cancel(quint64 id) { controller_->cancel(id); }

}  // namespace prisma::app
