#pragma once
// The model-thread jobs behind the Patching tab (QueuedPatchingBackend posts them): run a
// clean / corrupted pair and keep it in ModelState as a PatchingSession, then sweeps and
// single patches over it. The exact sweep is a background job that reports its grid after
// batches (throttled) and lets interactive jobs run between batches; everything else is
// interactive. Each kind of request has its channel, so a newer one supersedes the older.

#include "app/explorer/ExplorerController.h"
#include "app/explorer/patching/PatchingTypes.h"

namespace prisma::app::jobs {

ModelJob<PatchingPairInfo> preparePatching(const ImageRequest& clean, const ImageRequest& corrupt);
// exact: activation patching, batch by batch; otherwise attribution patching (one pass).
ModelJob<PatchingGrid> patchingSweep(const PatchingSetup& setup, bool exact);
ModelJob<PatchedRun> patchCell(const PatchingSetup& setup, const QVector<int>& cell);
ModelJob<PatchedRun> patchRegion(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                                 const QVector<int>& positions);

}  // namespace prisma::app::jobs
