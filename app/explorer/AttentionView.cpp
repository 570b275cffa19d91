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

void AttentionView::selectHead(int layer, int head) { grid_->setSelected(layer, head); }

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
  for (int l = 0; l < result_.layers; ++l) {
    widgets::HeadGridRow row{tr("L%1").arg(l), {}, {}};
    for (int h = 0; h < result_.heads; ++h) {
      row.cells.push_back(result_.attention(l, h, query_));
      high = std::max(high, row.cells.back().maxValue());
    }
    rows.push_back(row);
  }
  if (result_.rollout) rows.push_back({tr("rollout"), {result_.rolloutGrid(query_)}, {}});
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
  const widgets::HeatGrid heat = grid_->row(layer_).cells.value(head_);
  const bool perHead = normalization_->currentIndex() != kGlobal;
  const double low = perHead ? heat.minValue() : 0.0;
  const double high = perHead ? heat.maxValue() : globalHigh_;
  large_->setHeat(heat);
  large_->setRange(low, high);
  large_->setQueryPatch(query_);
  largeBar_->setRange(low, high);
  const bool isRollout = layer_ >= result_.layers;
  headLabel_->setText(isRollout ? tr("Attention rollout") : tr("Layer %1, head %2").arg(layer_).arg(head_));
  if (largeStack_->currentIndex() == 1 && !isRollout) {
    const QVector<float> m = result_.patternMatrix(layer_, head_);
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
