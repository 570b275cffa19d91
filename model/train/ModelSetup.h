#pragma once
// The model a classifier run starts from: a checkpoint's when resuming, a loaded model to
// fine-tune (optionally with a fresh head, its backbone optionally frozen), or a fresh one
// initialised from the preset's seed. Fine-tuning makes the loaded model's config and
// preprocessing the run's, so preset.json records them.

#include "model/train/Checkpoint.h"
#include "model/train/OptimizerState.h"
#include "model/train/TrainConfig.h"
#include "model/vit/HookedViT.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace prisma::train {

// Sets up the model for `config` and a dataset with `classNames`, in training mode.
// `resumeFrom`: the checkpoint whose model continues (refused, with what to do instead,
// when it keeps weights only). `say` receives what is being loaded. Throws prisma::Error
// when the checkpoint's model is not the preset's or the classes do not match.
HookedViT setUpModel(TrainConfig& config, const std::vector<std::string>& classNames,
                     const std::optional<CheckpointInfo>& resumeFrom,
                     const std::function<void(const std::string&)>& say);

// The parameters the run trains, in the model's order: all of them, or with
// finetune.freeze_backbone the head's alone (the others stop requiring gradients).
NamedParameters trainedParameters(HookedViTImpl& model, const TrainConfig& config);

}  // namespace prisma::train
