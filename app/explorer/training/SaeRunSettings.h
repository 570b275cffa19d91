#pragma once
// What the Training tab's SAE form hands the training worker, as plain Qt values (no
// LibTorch): the options of `prisma sae train`, with its names and defaults. The worker
// turns them into a sae::SaeTrainConfig the way the CLI does (SaeRunSetup.h), on its own
// thread, because that needs the model loaded (the hook's width is d_in).

#include <QMetaType>
#include <QString>
#include <QStringList>

namespace prisma::app {

struct SaeRunSettings {
  static constexpr const char* kDefaultModel = "mouse:induction-2L";

  QString model = QLatin1String(kDefaultModel);  // --model
  QString hook;                                  // --hook ("" = the model's default, see SaeModelProbe)
  QString dataset;                               // --dataset, a registry name or folder
  QString tokens = QStringLiteral("all");        // --tokens: all, cls, patches
  QString activation = QStringLiteral("relu");   // --activation: relu, topk
  int k = 32;                                    // --k (TopK)
  double l1 = 8e-5;                              // --l1 (ReLU)
  int expansion = 8;                             // --expansion: d_sae = expansion × d_in ...
  int dSae = 0;                                  // --d-sae, unless this is set (> 0)
  double lr = 4e-4;                              // --lr
  int warmup = 500;                              // --warmup
  int maxSteps = 0;                              // --max-steps; 0 = one epoch (--epochs 1)
  int batch = 32;                                // --batch: images per update
  int seed = 0;                                  // --seed
  int logEvery = 100;                            // --log-every
  int evalBatches = 10;                          // --eval-batches
  int checkpointEvery = 0;                       // --checkpoint-every; 0 = log-spaced only
};

// What the form needs to know of a model before a run: its hook points (those an SAE can
// read as rows: not the attention scores or pattern), the hook it proposes
// (blocks.<last>.hook_resid_pre) and the dataset the model was trained on ("" when its
// folder does not say).
struct SaeModelProbe {
  QString source;
  QStringList hooks;
  QString defaultHook;
  QString dataset;
  QString error;  // the loader's message; the rest is empty then
};

}  // namespace prisma::app

Q_DECLARE_METATYPE(prisma::app::SaeModelProbe)
