#pragma once
// The model-thread job behind the Attention and Logit lens tabs: one image through the
// model, with what both views draw (patterns, rollout, relevancy, head statistics, the
// top classes and the logit lens) as one AttentionResult. Interactive lane, channel
// "image": a newer image supersedes an older one still waiting or running.

#include "app/explorer/ExplorerController.h"

namespace prisma::app::jobs {

ModelJob<AttentionResult> computeImage(const ImageRequest& request);

}  // namespace prisma::app::jobs
