#pragma once
// Values that cross from the explorer's worker thread to the GUI: plain Qt types and
// shared, immutable float arrays (no LibTorch), so widgets can read them on the GUI
// thread while the worker computes the next result.

#include "widgets/PatchGridValues.h"
#include "widgets/TopKBars.h"

#include <QImage>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

namespace prisma::app {

struct ModelSummary {
  QString name;
  QString format;
  QString source;
  QString architecture;  // one line: "3 layers, 4 heads, d_model 64, 17 tokens, ..."
  QStringList notes;
  int classes = 0;  // 0 when the output is a feature vector (DINOv2, a CLIP without a zero-shot head)
  // A CLIP: a text tower, so a zero-shot head can be built (app/explorer/ZeroShotPanel.h).
  bool textTower = false;
  QStringList zeroShotClasses;  // the installed zero-shot head's classes; empty: none
  QString zeroShotTemplate;
};

// An image for the model: a file, or pixels already in memory (a dataset item, the
// clipboard). `title` names it in the window title and the status bar.
struct ImageRequest {
  QString path;   // a file, or FILE.safetensors:KEY[:INDEX]
  QImage pixels;  // used when path is empty
  QString title;
  // Where a dataset item came from, so a session can reopen it; row -1 otherwise.
  QString dataset;
  QString split;
  int row = -1;

  static ImageRequest file(const QString& spec);  // titled by the file name
  static ImageRequest image(const QImage& pixels, const QString& title);
};

// The engine's per-head summaries, each [layer * head] (NaN where undefined).
struct HeadStats {
  std::vector<float> entropy, toCls, toSelf, meanDistance;
};

// Everything the attention views draw for one (model, image) pair.
struct AttentionResult {
  quint64 requestId = 0;
  QString title;
  QImage input;  // the model's input, de-normalised for display
  int layers = 0, heads = 0, tokens = 0, gridRows = 0, gridCols = 0;
  bool hasCls = false;
  int registers = 0;  // register tokens after CLS, before the patches
  std::shared_ptr<const std::vector<float>> patterns;  // [layer, head, query, key]
  std::shared_ptr<const std::vector<float>> rollout;    // [query, key], may be null
  std::shared_ptr<const std::vector<float>> relevancy;  // [query, key] for relevancyClass, may be null
  int relevancyClass = -1;
  HeadStats stats;
  QVector<widgets::ClassScore> topk;
  QStringList classNames;
  // Logit lens: the top class and its logit per patch at each layer's resid_pre, then the
  // final residual: [lensLayers, gridRows * gridCols].
  int lensLayers = 0;
  std::shared_ptr<const std::vector<int>> lensTopClass;
  std::shared_ptr<const std::vector<float>> lensTopLogit;

  bool isValid() const { return patterns && layers > 0; }
  // The token of a patch (after CLS and the registers when there are some).
  int patchToken(int row, int col) const { return (hasCls ? 1 : 0) + registers + row * gridCols + col; }
  // One head's attention from `query` (nullopt = CLS) over the image patches, or from
  // the mean over queries when the model has no CLS token.
  widgets::PatchGridValues attention(int layer, int head, std::optional<QPoint> query) const;
  // Attention rollout / gradient relevancy from the same query, when computed.
  widgets::PatchGridValues rolloutGrid(std::optional<QPoint> query) const;
  widgets::PatchGridValues relevancyGrid(std::optional<QPoint> query) const;
  // The full [query, key] matrix of one head.
  QVector<float> patternMatrix(int layer, int head) const;
};

}  // namespace prisma::app

Q_DECLARE_METATYPE(prisma::app::ModelSummary)
Q_DECLARE_METATYPE(prisma::app::ImageRequest)
Q_DECLARE_METATYPE(prisma::app::AttentionResult)
