// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/ModelState.h"

#include <torch/torch.h>

#include "app/explorer/jobs/JobSupport.h"
#include "app/explorer/jobs/PatchingJobs.h"
#include "app/explorer/jobs/PatchingSession.h"

#include <stdexcept>

namespace prisma::app::jobs {

namespace {

std::shared_ptr<PatchingSession> sessionOf(const ModelState& state) {
  auto session = state.get<PatchingSession>();
  if (!session) throw std::runtime_error("No clean / corrupted pair has been run.");
  return session;
}

template <class R>
ModelJob<R> patchingJob(JobLane lane, const char* channel, const QString& what) {
  ModelJob<R> job;
  job.lane = lane;
  job.channel = QString::fromLatin1(channel);
  job.what = what;
  return job;
}

}  // namespace

ModelJob<PatchingPairInfo> preparePatching(const ImageRequest& clean, const ImageRequest& corrupt) {
  auto job = patchingJob<PatchingPairInfo>(JobLane::Interactive, "patching.pair", QStringLiteral("running the pair"));
  job.run = [clean, corrupt](ModelState& state, JobContext<PatchingPairInfo>& ctx) {
    state.set<PatchingSession>(nullptr);  // a failed pair leaves none rather than the previous one
    const auto model = state.model;
    if (!model) throw std::runtime_error("No model is loaded.");
    auto session = std::make_shared<PatchingSession>(model, inputFor(clean, *model), inputFor(corrupt, *model));
    state.set(session);
    PatchingPairInfo info = session->info();
    info.requestId = ctx.id();
    return info;
  };
  return job;
}

ModelJob<PatchingGrid> patchingSweep(const PatchingSetup& setup, bool exact) {
  if (!exact) {
    auto job = patchingJob<PatchingGrid>(JobLane::Interactive, "patching.preview",
                                         QStringLiteral("attribution patching of %1").arg(componentName(setup.component)));
    job.run = [setup](ModelState& state, JobContext<PatchingGrid>& ctx) {
      PatchingGrid g = sessionOf(state)->attributionSweep(setup);
      g.requestId = ctx.id();
      return g;
    };
    return job;
  }
  auto job = patchingJob<PatchingGrid>(JobLane::Background, "patching.sweep",
                                       QStringLiteral("exact sweep of %1").arg(componentName(setup.component)));
  job.run = [setup](ModelState& state, JobContext<PatchingGrid>& ctx) {
    const auto session = sessionOf(state);  // held: a new pair at a checkpoint replaces only the state's
    PatchingGrid g = session->exactSweep(setup, ctx.stopToken(), [&ctx](const std::function<PatchingGrid()>& soFar) {
      ctx.progress([&] {
        PatchingGrid p = soFar();
        p.requestId = ctx.id();
        return p;
      });
      ctx.checkpoint();  // an image or a clicked cell runs now, not after the sweep
    });
    g.requestId = ctx.id();
    return g;
  };
  return job;
}

ModelJob<PatchedRun> patchCell(const PatchingSetup& setup, const QVector<int>& cell) {
  auto job = patchingJob<PatchedRun>(JobLane::Interactive, "patching.patch", QStringLiteral("one patch"));
  job.run = [setup, cell](ModelState& state, JobContext<PatchedRun>& ctx) {
    PatchedRun r = sessionOf(state)->patchCell(setup, cell);
    r.requestId = ctx.id();
    return r;
  };
  return job;
}

ModelJob<PatchedRun> patchRegion(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                                 const QVector<int>& positions) {
  auto job = patchingJob<PatchedRun>(JobLane::Interactive, "patching.patch", QStringLiteral("region patch"));
  job.run = [setup, kind, layer, positions](ModelState& state, JobContext<PatchedRun>& ctx) {
    PatchedRun r = sessionOf(state)->patchPositions(setup, kind, layer, positions);
    r.requestId = ctx.id();
    return r;
  };
  return job;
}

}  // namespace prisma::app::jobs
