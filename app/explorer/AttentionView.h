#pragma once
// The Attention tab: the layers x heads grid of the current query's attention over the
// image (plus rollout), and the selected head large with its colour bar. Hovering a patch
// in the large view makes it the query and every view follows; "CLS" pins the query to
// the CLS token. A second mode shows the head's full query x key matrix with the image
// beside it; hovering a cell outlines its query and key patches there. Gradient relevancy
// always explains the predicted class from CLS (a patch query does not change it). Colour
// ranges: global (0 to the largest weight shown), per head (each its own min..max), or a
// fixed 0..1, on which nearly uniform attention looks uniform.

#include "app/explorer/ExplorerTypes.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QScrollArea;
class QSlider;
class QStackedWidget;
class QToolButton;

namespace prisma::widgets {
class ColorBar;
class HeadGrid;
class HeatmapView;
class PatternMatrixView;
}  // namespace prisma::widgets

namespace prisma::app {

class AttentionView : public QWidget {
  Q_OBJECT

public:
  explicit AttentionView(QWidget* parent = nullptr);

  void setResult(const AttentionResult& result);
  const AttentionResult& result() const { return result_; }

  // The query the views show: a patch (column, row), or nullopt for CLS.
  std::optional<QPoint> query() const { return query_; }
  void setQuery(std::optional<QPoint> query);
  void setClsPinned(bool pinned);
  void selectHead(int layer, int head);  // layer == layers: the rollout row
  // How heads are ordered within each layer's row of the grid.
  enum class HeadOrder { Index, Entropy, ClsAttention, SelfAttention, MeanDistance };
  void setHeadOrder(HeadOrder order);
  // The head shown in grid column `column` of layer `layer` under the current order.
  int headAt(int layer, int column) const;
  void setPatternMode(bool on);
  // The colour range of the heads (the normalisation box's entries, in order).
  enum class RangeMode { Global, PerHead, Fixed };
  void setRangeMode(RangeMode mode);
  RangeMode rangeMode() const;

  widgets::HeadGrid* headGrid() const { return grid_; }
  widgets::HeatmapView* largeView() const { return large_; }
  widgets::PatternMatrixView* patternView() const { return matrix_; }

  QImage renderLargeView();  // the large view with its colour bar
  QImage renderGrid();

private:
  void rebuild();
  void computeOrder();
  void updateLarge();
  void updateMatrixImage(int query, int key);  // the hovered cell, or (-1, -1)
  void applyStyle();
  QString queryText() const;
  int prefixTokens() const;  // CLS and registers, before the patches
  std::pair<double, double> headRange(const widgets::PatchGridValues& heat) const;

  AttentionResult result_;
  std::optional<QPoint> query_;
  bool clsPinned_ = true;
  int layer_ = 0, head_ = 0;  // grid row and column of the selection
  HeadOrder order_ = HeadOrder::Index;
  QVector<QVector<int>> headOrder_;  // per layer: grid column -> head
  double globalHigh_ = 1.0;  // the largest value in the grid: the shared range's top
  double patternsHigh_ = 1.0;  // the largest weight of any head: the matrix's global top
  bool patternMode_ = false;
  QVector<float> matrixValues_;  // the selected head's [query, key] pattern

  widgets::HeadGrid* grid_ = nullptr;
  widgets::HeatmapView* large_ = nullptr;
  widgets::PatternMatrixView* matrix_ = nullptr;
  widgets::HeatmapView* matrixImage_ = nullptr;  // the image beside the matrix
  QScrollArea* gridArea_ = nullptr;
  QStackedWidget* pages_ = nullptr;  // a placeholder until there is a result, then the views
  widgets::ColorBar* gridBar_ = nullptr;
  widgets::ColorBar* largeBar_ = nullptr;
  QStackedWidget* largeStack_ = nullptr;
  QToolButton* clsButton_ = nullptr;
  QToolButton* matrixButton_ = nullptr;
  QComboBox* colorMap_ = nullptr;
  QComboBox* normalization_ = nullptr;
  QComboBox* sort_ = nullptr;
  QSlider* opacity_ = nullptr;
  QLabel* queryLabel_ = nullptr;
  QLabel* headLabel_ = nullptr;
};

}  // namespace prisma::app
