#pragma once
// Model-thread jobs that replace the model: load one from a path, or build a random one
// in memory (benchmarks, tests). Posted by ExplorerController::loadModel / useRandomModel.
// A CLIP (an open_clip model with a text tower) loads both towers; installZeroShotHead
// then turns its image embedding into class logits (model/clip/ZeroShot.h), so the
// Prediction dock, the logit lens, DLA and the patching metrics treat it as a classifier.

#include "app/explorer/ExplorerController.h"

#include <QStringList>

namespace prisma::app::jobs {

ModelJob<ModelSummary> loadModel(const QString& path, const ModelLoadOptions& options);
ModelJob<ModelSummary> randomModel(const QString& preset);

inline constexpr const char* kDefaultZeroShotTemplate = "a photo of a {}.";
inline constexpr int kImageNetClassCount = 1000;  // the head an empty class list asks for

// The classes of a zero-shot head: a list, a class file (one name per line, read on the
// model thread so its errors name the file and line), or neither for ImageNet-1k's.
struct ZeroShotRequest {
  QStringList classes;
  QString classFile;
  QString tmpl = QString::fromLatin1(kDefaultZeroShotTemplate);
};

struct ZeroShotProgress {
  int done = 0;   // prompts embedded
  int total = 0;  // prompts in all
};

// Builds (or takes from the cache of heads already built, per model files + template +
// classes) the zero-shot head of the loaded CLIP and installs it. A background job:
// progress per batch of prompts, cancellable between batches. Its result is the model's
// new summary (classes = the head's), which every tab must treat as a new model: the
// logits changed. Fails when the loaded model has no text tower.
ModelJob<ModelSummary, ZeroShotProgress> installZeroShotHead(const ZeroShotRequest& request);

}  // namespace prisma::app::jobs
