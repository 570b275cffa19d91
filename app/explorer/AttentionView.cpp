#include "app/explorer/AttentionView.h"

#include "widgets/ColorBar.h"
#include "widgets/HeadGrid.h"
#include "widgets/HeatmapView.h"
#include "widgets/PatternMatrixView.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QSettings>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <numeric>

namespace prisma::app {

namespace {
constexpr int kOpacitySteps = 100;
constexpr int kDefaultOpacity = 60;
constexpr int kGlobal = 0;  // normalisation combo: shared range
const char* const kSettingsColorMap = "attention/colorMap";
const char* const kSettingsNormalization = "attention/normalization";
const char* const kSettingsOpacity = "attention/opacity";
}  // namespace

AttentionView::AttentionView(QWidget* parent) : QWidget(parent) {
  grid_ = new widgets::HeadGrid(this);
  grid_->setObjectName(QStringLiteral("headGrid"));
  gridBar_ = new widgets::ColorBar(this);
  large_ = new widgets::HeatmapView(this);
  large_->setObjectName(QStringLiteral("largeView"));
  matrix_ = new widgets::PatternMatrixView(this);
  matrix_->setObjectName(QStringLiteral("patternMatrix"));
  largeBar_ = new widgets::ColorBar(this);
  largeStack_ = new QStackedWidget(this);
  largeStack_->addWidget(large_);
  largeStack_->addWidget(matrix_);

  clsButton_ = new QToolButton(this);
  clsButton_->setText(tr("CLS"));
  clsButton_->setCheckable(true);
  clsButton_->setChecked(true);
  clsButton_->setToolTip(tr("Pin the query to the CLS token; unpinned, hovering a patch makes it the query"));
  matrixButton_ = new QToolButton(this);
  matrixButton_->setText(tr("Pattern matrix"));
  matrixButton_->setCheckable(true);
  matrixButton_->setToolTip(tr("Show the selected head's full query \u00d7 key pattern"));
  colorMap_ = new QComboBox(this);
  colorMap_->addItems({QStringLiteral("viridis"), QStringLiteral("magma"), QStringLiteral("grey")});
  normalization_ = new QComboBox(this);
  normalization_->addItems({tr("Global range"), tr("Per head")});
  sort_ = new QComboBox(this);
  sort_->setToolTip(tr("Order the heads of each layer by the engine's head summaries"));
  sort_->addItems({tr("Heads by index"), tr("Lowest entropy first"), tr("Most CLS attention first"),
                   tr("Most self attention first"), tr("Longest distance first")});
  opacity_ = new QSlider(Qt::Horizontal, this);
  opacity_->setRange(0, kOpacitySteps);
  opacity_->setToolTip(tr("Heatmap opacity"));
  queryLabel_ = new QLabel(this);
  headLabel_ = new QLabel(this);

  QSettings settings;
  colorMap_->setCurrentText(settings.value(kSettingsColorMap, QStringLiteral("viridis")).toString());
  normalization_->setCurrentIndex(settings.value(kSettingsNormalization, kGlobal).toInt());
  opacity_->setValue(settings.value(kSettingsOpacity, kDefaultOpacity).toInt());

  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Query:"), this));
  controls->addWidget(queryLabel_);
  controls->addWidget(clsButton_);
  controls->addSpacing(12);
  controls->addWidget(matrixButton_);
  controls->addStretch();
  controls->addWidget(sort_);
  controls->addWidget(colorMap_);
  controls->addWidget(normalization_);
  controls->addWidget(new QLabel(tr("Opacity"), this));
  controls->addWidget(opacity_);

  auto* left = new QWidget(this);
  auto* leftLayout = new QHBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(grid_, 1);
  leftLayout->addWidget(gridBar_);
  auto* right = new QWidget(this);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->addWidget(headLabel_);
  auto* largeRow = new QHBoxLayout;
  largeRow->addWidget(largeStack_, 1);
  largeRow->addWidget(largeBar_);
  rightLayout->addLayout(largeRow, 1);
  auto* split = new QSplitter(this);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  split->setChildrenCollapsible(false);
  constexpr int kEqualHalves = 1000;  // QSplitter shares this out proportionally
  split->setSizes({kEqualHalves, kEqualHalves});

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(split, 1);

  connect(grid_, &widgets::HeadGrid::cellSelected, this, [this](int row, int col) {
    layer_ = row;
    head_ = col;
    updateLarge();
  });
  connect(large_, &widgets::HeatmapView::patchHovered, this, [this](int row, int col) {
    if (clsPinned_ || row < 0) return;  // leaving the image keeps the last query
    setQuery(QPoint(col, row));
  });
  connect(large_, &widgets::HeatmapView::patchClicked, this, [this](int row, int col) {
    setClsPinned(false);
    setQuery(QPoint(col, row));
  });
  connect(matrix_, &widgets::PatternMatrixView::cellHovered, this, [this](int q, int k) {
    QVector<QPoint> patches;
    const int first = result_.hasCls ? 1 : 0;
    for (int token : {q, k})
      if (token >= first) patches.push_back(QPoint((token - first) % result_.gridCols, (token - first) / result_.gridCols));
    large_->setHighlightedPatches(patches);
  });
  connect(sort_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int index) { setHeadOrder(static_cast<HeadOrder>(index)); });
  connect(clsButton_, &QToolButton::toggled, this, &AttentionView::setClsPinned);
  connect(matrixButton_, &QToolButton::toggled, this, &AttentionView::setPatternMode);
  connect(colorMap_, &QComboBox::currentTextChanged, this, [this](const QString& name) {
    QSettings().setValue(kSettingsColorMap, name);
    applyStyle();
  });
  connect(normalization_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
    QSettings().setValue(kSettingsNormalization, index);
    rebuild();
  });
  connect(opacity_, &QSlider::valueChanged, this, [this](int value) {
    QSettings().setValue(kSettingsOpacity, value);
    applyStyle();
  });
  applyStyle();
  queryLabel_->setText(queryText());
}

void AttentionView::setResult(const AttentionResult& result) {
  const bool sameShape = result.layers == result_.layers && result.heads == result_.heads &&
                         result.gridRows == result_.gridRows;
  result_ = result;
  if (!sameShape) {
    layer_ = head_ = 0;
    if (query_ && (query_->x() >= result.gridCols || query_->y() >= result.gridRows)) query_.reset();
  }
  large_->setImage(result.input);
  grid_->setImage(result.input);
  computeOrder();
  rebuild();
  grid_->setSelected(layer_, head_);
}

void AttentionView::setQuery(std::optional<QPoint> query) {
  if (query == query_) return;
  query_ = query;
  queryLabel_->setText(queryText());
  rebuild();
}

void AttentionView::setClsPinned(bool pinned) {
  clsPinned_ = pinned;
  if (clsButton_->isChecked() != pinned) clsButton_->setChecked(pinned);
  if (pinned) setQuery(std::nullopt);
}

void AttentionView::setPatternMode(bool on) {
  if (matrixButton_->isChecked() != on) matrixButton_->setChecked(on);
  largeStack_->setCurrentIndex(on ? 1 : 0);
  if (!on) large_->setHighlightedPatches({});
  updateLarge();
}

void AttentionView::selectHead(int layer, int head) {
  const int column = layer < headOrder_.size() ? std::max<int>(0, headOrder_[layer].indexOf(head)) : head;
  grid_->setSelected(layer, column);
}

int AttentionView::headAt(int layer, int column) const {
  if (layer < headOrder_.size() && column < headOrder_[layer].size()) return headOrder_[layer][column];
  return column;
}

void AttentionView::setHeadOrder(HeadOrder order) {
  const int head = headAt(layer_, head_);
  order_ = order;
  if (sort_->currentIndex() != static_cast<int>(order)) sort_->setCurrentIndex(static_cast<int>(order));
  computeOrder();
  rebuild();
  selectHead(layer_, head);
}

void AttentionView::computeOrder() {
  headOrder_.clear();
  const HeadStats& st = result_.stats;
  const std::vector<float>* key = nullptr;
  bool ascending = false;
  switch (order_) {
    case HeadOrder::Index: break;
    case HeadOrder::Entropy: key = &st.entropy; ascending = true; break;
    case HeadOrder::ClsAttention: key = &st.toCls; break;
    case HeadOrder::SelfAttention: key = &st.toSelf; break;
    case HeadOrder::MeanDistance: key = &st.meanDistance; break;
  }
  for (int l = 0; l < result_.layers; ++l) {
    QVector<int> heads(result_.heads);
    std::iota(heads.begin(), heads.end(), 0);
    if (key && key->size() == static_cast<size_t>(result_.layers * result_.heads)) {
      auto value = [&](int h) {
        const float v = (*key)[static_cast<size_t>(l) * result_.heads + h];
        return std::isnan(v) ? (ascending ? INFINITY : -INFINITY) : v;  // undefined last
      };
      std::stable_sort(heads.begin(), heads.end(),
                       [&](int a, int b) { return ascending ? value(a) < value(b) : value(a) > value(b); });
    }
    headOrder_.push_back(heads);
  }
}

QString AttentionView::queryText() const {
  if (!query_) return result_.hasCls || !result_.isValid() ? tr("CLS") : tr("mean over tokens");
  return tr("patch (row %1, col %2)").arg(query_->y()).arg(query_->x());
}

void AttentionView::applyStyle() {
  const auto map = widgets::ColorMap::fromName(colorMap_->currentText());
  const double opacity = double(opacity_->value()) / kOpacitySteps;
  for (auto* bar : {gridBar_, largeBar_}) bar->setColorMap(map);
  grid_->setColorMap(map);
  grid_->setOpacity(opacity);
  large_->setColorMap(map);
  large_->setOpacity(opacity);
  matrix_->setColorMap(map);
}

void AttentionView::rebuild() {
  if (!result_.isValid()) return;
  QVector<widgets::HeadGridRow> rows;
  float high = 0.0f;
  const bool sorted = order_ != HeadOrder::Index;
  for (int l = 0; l < result_.layers; ++l) {
    widgets::HeadGridRow row{tr("L%1").arg(l), {}, {}, false};
    for (int c = 0; c < result_.heads; ++c) {
      const int h = headAt(l, c);
      row.cells.push_back(result_.attention(l, h, query_));
      if (sorted) row.cellLabels << tr("H%1").arg(h);
      high = std::max(high, row.cells.back().maxValue());
    }
    rows.push_back(row);
  }
  // Whole-model maps have their own scale (rollout mixes to a near-uniform background,
  // relevancy is unbounded), so they are always drawn on their own range.
  if (result_.rollout) rows.push_back({tr("rollout"), {result_.rolloutGrid(query_)}, {}, true});
  if (result_.relevancy)
    rows.push_back({tr("relevancy"), {result_.relevancyGrid(query_)}, {result_.classNames.value(result_.relevancyClass)}, true});
  const bool perHead = normalization_->currentIndex() != kGlobal;
  grid_->setPerCellNormalization(perHead);
  globalHigh_ = high > 0.0f ? high : 1.0;
  grid_->setRange(0.0, globalHigh_);
  gridBar_->setRange(0.0, perHead ? 1.0 : globalHigh_);
  gridBar_->setLabel(perHead ? tr("per head") : QString());
  grid_->setRows(rows);
  updateLarge();
}

void AttentionView::updateLarge() {
  if (!result_.isValid() || layer_ >= grid_->rowCount()) return;
  const widgets::PatchGridValues heat = grid_->row(layer_).cells.value(head_);
  const bool isWholeModel = layer_ >= result_.layers;
  const bool perHead = normalization_->currentIndex() != kGlobal || isWholeModel;
  const double low = perHead ? heat.minValue() : 0.0;
  const double high = perHead ? heat.maxValue() : globalHigh_;
  large_->setHeat(heat);
  large_->setRange(low, high);
  large_->setQueryPatch(query_);
  largeBar_->setRange(low, high);
  const int head = headAt(layer_, head_);
  headLabel_->setText(!isWholeModel ? tr("Layer %1, head %2").arg(layer_).arg(head)
                      : layer_ == result_.layers && result_.rollout
                          ? tr("Attention rollout")
                          : tr("Gradient relevancy for %1").arg(result_.classNames.value(result_.relevancyClass)));
  if (largeStack_->currentIndex() == 1 && !isWholeModel) {
    const QVector<float> m = result_.patternMatrix(layer_, head);
    matrix_->setPattern(result_.tokens, m);
    matrix_->setRange(0.0, m.isEmpty() ? 1.0 : *std::max_element(m.begin(), m.end()));
  }
}

QImage AttentionView::renderLargeView() {
  QWidget* w = largeStack_->parentWidget();
  return w->grab().toImage();
}

QImage AttentionView::renderGrid() { return grid_->parentWidget()->grab().toImage(); }

}  // namespace prisma::app
