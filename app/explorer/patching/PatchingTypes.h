#pragma once
// Values the patching board exchanges with the explorer's worker thread: what to patch and
// score (PatchingSetup), the unpatched pair (PatchingPairInfo), a sweep's grid, complete or
// in progress (PatchingGrid), and one patched run (PatchedRun). Plain Qt types, the
// engine's LibTorch-free request types (ComponentKind, MetricSpec) and shared immutable
// arrays, as in ExplorerTypes.h: no LibTorch crosses the thread boundary.

#include "model/interp/ComponentKind.h"
#include "model/interp/MetricSpec.h"

#include "app/explorer/ExplorerTypes.h"

#include <QMetaType>
#include <QVector>

#include <memory>
#include <vector>

namespace prisma::app {

QString componentName(interp::ComponentKind kind);

// What a sweep or a single patch patches and how the patched run is scored.
struct PatchingSetup {
  interp::ComponentKind component = interp::ComponentKind::ResidPre;
  // Classes empty until the pair has run: the board fills in the two predictions.
  interp::MetricSpec metric;
  int batchSize = 0;  // cells per forward pass; 0 = the engine's choice

  QString metricKey() const { return QString::fromStdString(metric.key()); }  // "logit_diff(0,3)"
  QString metricLabel(const QStringList& classNames) const;
};

// One source image after its unpatched run.
struct PatchSourceInfo {
  QImage input;  // the model's input, de-normalised for display
  QVector<widgets::ClassScore> topk;
  QVector<int> topkClasses;  // class index of each topk entry
};

struct PatchingPairInfo {
  quint64 requestId = 0;
  PatchSourceInfo clean, corrupt;
  QStringList classNames;
  std::vector<interp::ComponentKind> components;  // those this model has (interp::availableComponents)
  int layers = 0, heads = 0, tokens = 0, gridRows = 0, gridCols = 0;
  bool hasCls = false;
};

// A patching grid, rows = layers, the remaining axes flattened row-major into columns
// (head_z_by_pos: column = position * heads + head).
struct PatchingGrid {
  quint64 requestId = 0;
  interp::ComponentKind component = interp::ComponentKind::ResidPre;
  QStringList axes;  // "layer", "pos", "head"
  QVector<int> shape;
  bool attribution = false;
  // The metric on the unpatched clean / corrupted runs. Attribution grids hold
  // corrupt + the predicted change, so both kinds of grid read on the same scale.
  double cleanMetric = 0.0, corruptMetric = 0.0;
  std::shared_ptr<const std::vector<float>> values;  // row-major over `shape`; NaN = not run yet
  qint64 done = 0, total = 0;
  bool stopped = false;

  bool isValid() const { return values && !shape.isEmpty(); }
  int rows() const { return shape.isEmpty() ? 0 : shape[0]; }
  int cols() const;
  float at(int row, int col) const { return (*values)[static_cast<size_t>(row) * cols() + col]; }
  // The engine cell (layer first) of a (row, col) of the flattened grid.
  QVector<int> cellAt(int row, int col) const;
};

// One patched run: a cell of a sweep, or a free-form set of positions at one layer.
struct PatchedRun {
  quint64 requestId = 0;
  QString component;       // for display: "resid_pre", "resid_pre@positions"
  QVector<int> cell;       // the engine cell; {layer} for a free-form patch
  int layer = 0;
  QVector<int> positions;  // the token positions whose activation was patched
  double metric = 0.0, cleanMetric = 0.0, corruptMetric = 0.0;
  QVector<widgets::ClassScore> topk;
};

// A source SPEC: an image file, FILE.safetensors:KEY[:INDEX], or a dataset item
// NAME/SPLIT/INDEX (e.g. induction/test/3). Throws prisma::Error for an unknown dataset
// or an index out of range.
ImageRequest requestFromSpec(const QString& spec);

}  // namespace prisma::app

Q_DECLARE_METATYPE(prisma::app::PatchingSetup)
Q_DECLARE_METATYPE(prisma::app::PatchingPairInfo)
Q_DECLARE_METATYPE(prisma::app::PatchingGrid)
Q_DECLARE_METATYPE(prisma::app::PatchedRun)
