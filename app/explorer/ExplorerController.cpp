// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/ModelState.h"

#include "model/runtime/Runtime.h"

#include "app/explorer/ExplorerController.h"
#include "app/explorer/jobs/JobSupport.h"
#include "app/explorer/jobs/ModelJobs.h"

namespace prisma::app {

ExplorerController::ExplorerController(QObject* parent)
    : QObject(parent),
      state_(std::make_unique<ModelState>()),
      // LibTorch's thread count is per thread: set it on the model thread itself.
      queue_(std::make_unique<JobQueue>([] { runtime::configureThreads(); }, &jobs::describeError)) {
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<ImageRequest>();
  qRegisterMetaType<AttentionResult>();
  connect(queue_.get(), &JobQueue::busyChanged, this, &ExplorerController::busyChanged);
}

ExplorerController::~ExplorerController() = default;

void ExplorerController::loadModel(const QString& path, const ModelLoadOptions& options) {
  ModelJob<ModelSummary> job = jobs::loadModel(path, options);
  job.done = [this](quint64, const ModelSummary& s) { emit modelLoaded(s); };
  job.failed = [this](quint64, const QString& message) { emit modelFailed(message); };
  post(this, std::move(job));
}

void ExplorerController::useRandomModel(const QString& preset) {
  ModelJob<ModelSummary> job = jobs::randomModel(preset);
  job.done = [this](quint64, const ModelSummary& s) { emit modelLoaded(s); };
  job.failed = [this](quint64, const QString& message) { emit modelFailed(message); };
  post(this, std::move(job));
}

}  // namespace prisma::app
