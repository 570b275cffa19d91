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
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <numeric>

namespace prisma::app {

namespace {
constexpr int kOpacitySteps = 100;
constexpr int kDefaultOpacity = 60;
constexpr int kLargePage = 0, kMatrixPage = 1;
constexpr int kPlaceholderPage = 0, kViewsPage = 1;
// The matrix gets more of the pattern page than the image beside it.
constexpr int kMatrixStretch = 3, kMatrixImageStretch = 2;
// The query label is as wide as its longest text for a patch grid up to this size, so
// the buttons after it do not move as the query changes.
constexpr int kWidestGridIndex = 88;
const char* const kSettingsColorMap = "attention/colorMap";
const char* const kSettingsNormalization = "attention/normalization";
const char* const kSettingsOpacity = "attention/opacity";
}  // namespace

AttentionView::AttentionView(QWidget* parent) : QWidget(parent) {
  grid_ = new widgets::HeadGrid;
  grid_->setObjectName(QStringLiteral("headGrid"));
  gridArea_ = new widgets::HeadGridScrollArea(grid_, this);
  gridBar_ = new widgets::ColorBar(this);
  gridBar_->setObjectName(QStringLiteral("gridBar"));
  large_ = new widgets::HeatmapView(this);
  large_->setObjectName(QStringLiteral("largeView"));
  largeBar_ = new widgets::ColorBar(this);
  largeBar_->setObjectName(QStringLiteral("largeBar"));
  matrix_ = new widgets::PatternMatrixView(this);
  matrix_->setObjectName(QStringLiteral("patternMatrix"));
  matrixImage_ = new widgets::HeatmapView(this);
  matrixImage_->setObjectName(QStringLiteral("matrixImage"));
  matrixImage_->setToolTip(tr("The head's attention from the hovered query; white: the query patch, red: the key patch"));

  auto* largePage = new QWidget(this);
  auto* largeRow = new QHBoxLayout(largePage);
  largeRow->setContentsMargins(0, 0, 0, 0);
  largeRow->addWidget(large_, 1);
  largeRow->addWidget(largeBar_);
  auto* matrixPage = new QWidget(this);
  auto* matrixRow = new QHBoxLayout(matrixPage);
  matrixRow->setContentsMargins(0, 0, 0, 0);
  matrixRow->addWidget(matrix_, kMatrixStretch);
  matrixRow->addWidget(matrixImage_, kMatrixImageStretch);
  largeStack_ = new QStackedWidget(this);
  largeStack_->insertWidget(kLargePage, largePage);
  largeStack_->insertWidget(kMatrixPage, matrixPage);

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
  normalization_->addItems({tr("Global range"), tr("Per head"), tr("Fixed 0\u20131")});
  normalization_->setToolTip(tr("Global range: 0 to the largest weight shown, shared by all heads.\n"
                                "Per head: each head stretched to its own min\u2013max (exaggerates small differences).\n"
                                "Fixed 0\u20131: weights as they are; nearly uniform attention looks uniform."));
  sort_ = new QComboBox(this);
  sort_->setToolTip(tr("Order the heads of each layer by the engine's head summaries"));
  sort_->addItems({tr("Heads by index"), tr("Lowest entropy first"), tr("Most CLS attention first"),
                   tr("Most self attention first"), tr("Longest distance first")});
  opacity_ = new QSlider(Qt::Horizontal, this);
  opacity_->setRange(0, kOpacitySteps);
  opacity_->setToolTip(tr("Heatmap opacity"));
  queryLabel_ = new QLabel(this);
  queryLabel_->setObjectName(QStringLiteral("queryLabel"));
  {
    const QFontMetrics fm = queryLabel_->fontMetrics();
    int widest = fm.horizontalAdvance(tr("mean over tokens"));
    widest = std::max(widest, fm.horizontalAdvance(tr("patch (row %1, col %2)").arg(kWidestGridIndex).arg(kWidestGridIndex)));
    queryLabel_->setFixedWidth(widest + fm.averageCharWidth());
  }
  headLabel_ = new QLabel(this);
  headLabel_->setObjectName(QStringLiteral("headLabel"));
  headLabel_->setWordWrap(true);

  QSettings settings;
  colorMap_->setCurrentText(settings.value(kSettingsColorMap, QStringLiteral("viridis")).toString());
  const int savedRange = settings.value(kSettingsNormalization, static_cast<int>(RangeMode::Global)).toInt();
  normalization_->setCurrentIndex(savedRange >= 0 && savedRange < normalization_->count() ? savedRange : 0);
  opacity_->setValue(settings.value(kSettingsOpacity, kDefaultOpacity).toInt());

  // A tool bar, not a row of widgets: on a narrow window the controls that do not fit go to
  // its extension menu (>>) instead of setting the whole tab's minimum width.
  auto* controls = new QToolBar(this);
  controls->setObjectName(QStringLiteral("attentionToolbar"));
  controls->addWidget(new QLabel(tr("Query: "), this));
  controls->addWidget(queryLabel_);
  controls->addWidget(clsButton_);
  controls->addSeparator();
  controls->addWidget(matrixButton_);
  auto* spacer = new QWidget(this);
  spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  controls->addWidget(spacer);
  controls->addWidget(sort_);
  controls->addWidget(colorMap_);
  controls->addWidget(normalization_);
  controls->addWidget(new QLabel(tr(" Opacity "), this));
  controls->addWidget(opacity_);
  // Framed like push buttons: a flat "CLS" would read as a label.
  for (QToolButton* b : {clsButton_, matrixButton_}) b->setAutoRaise(false);

  auto* left = new QWidget(this);
  auto* leftLayout = new QHBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  leftLayout->addWidget(gridArea_, 1);
  leftLayout->addWidget(gridBar_);
  auto* right = new QWidget(this);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  rightLayout->addWidget(headLabel_);
  rightLayout->addWidget(largeStack_, 1);
  auto* split = new QSplitter(this);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  split->setChildrenCollapsible(false);
  constexpr int kEqualHalves = 1000;  // QSplitter shares this out proportionally
  split->setSizes({kEqualHalves, kEqualHalves});

  auto* views = new QWidget(this);
  auto* viewsLayout = new QVBoxLayout(views);
  viewsLayout->setContentsMargins(0, 0, 0, 0);
  viewsLayout->addWidget(controls);
  viewsLayout->addWidget(split, 1);
  auto* placeholder = new QLabel(
      tr("Every head's attention appears here once a model and an image are open.\n\n"
         "Open a model from the Models panel (double-click a bundled mouse) or with File \u25b8 Open Model\u2026 "
         "(Ctrl+O), then pick an image in the Images panel or open one (Ctrl+I)."),
      this);
  placeholder->setObjectName(QStringLiteral("attentionPlaceholder"));
  placeholder->setAlignment(Qt::AlignCenter);
  placeholder->setWordWrap(true);
  pages_ = new QStackedWidget(this);
  pages_->insertWidget(kPlaceholderPage, placeholder);
  pages_->insertWidget(kViewsPage, views);
  pages_->setCurrentIndex(kPlaceholderPage);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(pages_);

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
  connect(matrix_, &widgets::PatternMatrixView::cellHovered, this, &AttentionView::updateMatrixImage);
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
  if (!result_.isValid()) {
    // Nothing to show (no model yet, or it was dropped): say what to do, not a stale map.
    pages_->setCurrentIndex(kPlaceholderPage);
    grid_->setRows({});
    return;
  }
  pages_->setCurrentIndex(kViewsPage);
  patternsHigh_ = 1.0;
  if (result_.patterns && !result_.patterns->empty()) {
    const float top = *std::max_element(result_.patterns->begin(), result_.patterns->end());
    patternsHigh_ = top > 0.0f ? top : 1.0;
  }
  large_->setImage(result.input);
  grid_->setImage(result.input);
  matrixImage_->setImage(result.input);
  queryLabel_->setText(queryText());
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
  patternMode_ = on;
  if (matrixButton_->isChecked() != on) matrixButton_->setChecked(on);
  updateLarge();
}

void AttentionView::setRangeMode(RangeMode mode) { normalization_->setCurrentIndex(static_cast<int>(mode)); }

AttentionView::RangeMode AttentionView::rangeMode() const {
  return static_cast<RangeMode>(std::clamp(normalization_->currentIndex(), 0, static_cast<int>(RangeMode::Fixed)));
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

int AttentionView::prefixTokens() const { return (result_.hasCls ? 1 : 0) + result_.registers; }

void AttentionView::applyStyle() {
  const auto map = widgets::ColorMap::fromName(colorMap_->currentText());
  const double opacity = double(opacity_->value()) / kOpacitySteps;
  for (auto* bar : {gridBar_, largeBar_}) bar->setColorMap(map);
  grid_->setColorMap(map);
  grid_->setOpacity(opacity);
  for (auto* view : {large_, matrixImage_}) {
    view->setColorMap(map);
    view->setOpacity(opacity);
  }
  matrix_->setColorMap(map);
}

std::pair<double, double> AttentionView::headRange(const widgets::PatchGridValues& heat) const {
  switch (rangeMode()) {
    case RangeMode::PerHead: return {heat.minValue(), heat.maxValue()};
    case RangeMode::Fixed: return {0.0, 1.0};
    case RangeMode::Global: break;
  }
  return {0.0, globalHigh_};
}

void AttentionView::rebuild() {
  if (!result_.isValid()) return;
  QVector<widgets::HeadGridRow> rows;
  float low = INFINITY, high = 0.0f;
  const bool sorted = order_ != HeadOrder::Index;
  for (int l = 0; l < result_.layers; ++l) {
    widgets::HeadGridRow row{tr("L%1").arg(l), {}, {}, false,
                             tr("Layer %1: each head's attention from the query over the patches").arg(l), true};
    for (int c = 0; c < result_.heads; ++c) {
      const int h = headAt(l, c);
      row.cells.push_back(result_.attention(l, h, query_));
      if (sorted) row.cellLabels << tr("H%1").arg(h);
      high = std::max(high, row.cells.back().maxValue());
      low = std::min(low, row.cells.back().minValue());
    }
    rows.push_back(row);
  }
  // Whole-model maps have their own scale (rollout mixes to a near-uniform background,
  // relevancy is unbounded), so they are always drawn on their own range.
  if (result_.rollout)
    rows.push_back({tr("rollout"), {result_.rolloutGrid(query_)}, {}, true,
                    tr("Attention rollout from the query: attention multiplied through every layer, with the "
                       "residual; its own colour range"),
                    true});
  if (result_.relevancy) {
    // Relevancy explains the model's output, which is read from CLS: a patch query would
    // only show that patch itself, so it always starts from CLS.
    const QString cls = result_.classNames.value(result_.relevancyClass);
    rows.push_back({tr("relevancy"), {result_.relevancyGrid(std::nullopt)}, {cls}, true,
                    tr("Gradient relevancy for the predicted class (%1), always from CLS whatever the query; its own "
                       "colour range")
                        .arg(cls),
                    false});
  }
  const RangeMode mode = rangeMode();
  const bool perHead = mode == RangeMode::PerHead;
  grid_->setPerCellNormalization(perHead);
  globalHigh_ = high > 0.0f ? high : 1.0;
  const double top = mode == RangeMode::Global ? globalHigh_ : 1.0;
  grid_->setRange(0.0, top);
  gridBar_->setRange(0.0, top);
  gridBar_->setLabel(perHead ? tr("per head") : QString());
  // Per head, each thumbnail spans its own min..max: numbers on the bar would be wrong.
  gridBar_->setTickTexts(perHead ? QStringList{tr("min"), QString(), tr("max")} : QStringList());
  if (perHead || !std::isfinite(low)) gridBar_->setDataRange(std::nullopt);
  else gridBar_->setDataRange(std::make_pair(double(low), double(high)));
  QStringList headers;
  if (!sorted)
    for (int h = 0; h < result_.heads; ++h) headers << tr("H%1").arg(h);
  grid_->setColumnHeaders(headers);
  grid_->setQueryPatch(query_);
  grid_->setRows(rows);
  updateLarge();
}

void AttentionView::updateLarge() {
  if (!result_.isValid() || layer_ >= grid_->rowCount()) return;
  const widgets::PatchGridValues heat = grid_->row(layer_).cells.value(head_);
  const bool isWholeModel = layer_ >= result_.layers;
  const bool isRelevancy = isWholeModel && !(layer_ == result_.layers && result_.rollout);
  const auto [low, high] = isWholeModel ? std::make_pair(double(heat.minValue()), double(heat.maxValue())) : headRange(heat);
  large_->setHeat(heat);
  large_->setRange(low, high);
  large_->setQueryPatch(isRelevancy ? std::nullopt : query_);
  largeBar_->setRange(low, high);
  if (heat.isEmpty()) largeBar_->setDataRange(std::nullopt);
  else largeBar_->setDataRange(std::make_pair(double(heat.minValue()), double(heat.maxValue())));
  const int head = headAt(layer_, head_);
  const QString cls = result_.classNames.value(result_.relevancyClass);
  if (!isWholeModel) headLabel_->setText(tr("Layer %1, head %2").arg(layer_).arg(head));
  else if (!isRelevancy) headLabel_->setText(tr("Attention rollout"));
  else
    headLabel_->setText(result_.hasCls
                            ? tr("Gradient relevancy for %1 (the prediction), from CLS: it explains the class, "
                                 "whatever the query")
                                  .arg(cls)
                            : tr("Gradient relevancy for %1 (the prediction), from the mean over tokens: it explains "
                                 "the class, whatever the query")
                                  .arg(cls));

  // The matrix shows one head; a whole-model row shows its map even in pattern mode.
  const bool showMatrix = patternMode_ && !isWholeModel;
  largeStack_->setCurrentIndex(showMatrix ? kMatrixPage : kLargePage);
  if (!patternMode_) large_->setHighlightedPatches({});
  if (!showMatrix) return;
  matrixValues_ = result_.patternMatrix(layer_, head);
  matrix_->setTokenLayout(result_.hasCls, result_.registers, result_.gridRows, result_.gridCols);
  matrix_->setPattern(result_.tokens, matrixValues_);
  // The matrix is drawn on the range its bar shows: every head's largest weight (global),
  // this head's own min..max (per head), or 0..1.
  double matrixLow = 0.0, matrixHigh = 1.0;
  switch (rangeMode()) {
    case RangeMode::Global: matrixHigh = patternsHigh_; break;
    case RangeMode::PerHead:
      if (!matrixValues_.isEmpty()) {
        const auto [lo, hi] = std::minmax_element(matrixValues_.begin(), matrixValues_.end());
        matrixLow = *lo;
        matrixHigh = *hi;
      }
      break;
    case RangeMode::Fixed: break;
  }
  matrix_->setRange(matrixLow, matrixHigh);
  updateMatrixImage(-1, -1);
}

void AttentionView::updateMatrixImage(int query, int key) {
  if (!result_.isValid() || layer_ >= result_.layers) return;
  const int prefix = prefixTokens();
  const int patches = result_.gridRows * result_.gridCols;
  auto patchOf = [&](int token) -> std::optional<QPoint> {
    if (token < prefix || token >= prefix + patches) return std::nullopt;
    return QPoint((token - prefix) % result_.gridCols, (token - prefix) / result_.gridCols);
  };
  widgets::PatchGridValues heat = large_->heat();  // the current query's map
  std::optional<QPoint> queryPatch = query_;
  if (query >= 0 && query < result_.tokens && matrixValues_.size() == result_.tokens * result_.tokens) {
    // The hovered query's row over the patch keys.
    heat = widgets::PatchGridValues{result_.gridRows, result_.gridCols, {}};
    const float* row = matrixValues_.constData() + static_cast<size_t>(query) * result_.tokens + prefix;
    heat.values = QVector<float>(row, row + patches);
    queryPatch = patchOf(query);
  }
  const auto [low, high] = headRange(heat);
  matrixImage_->setHeat(heat);
  matrixImage_->setRange(low, high);
  matrixImage_->setQueryPatch(queryPatch);
  QVector<QPoint> keys;
  if (const auto k = patchOf(key)) keys.push_back(*k);
  matrixImage_->setHighlightedPatches(keys);
}

QImage AttentionView::renderLargeView() {
  QWidget* w = largeStack_->parentWidget();
  return w->grab().toImage();
}

QImage AttentionView::renderGrid() {
  // The whole grid, also the rows scrolled out of view, with its colour bar beside it.
  const QImage grid = grid_->grab().toImage();
  const QImage bar = gridBar_->grab().toImage();
  QImage out(grid.width() + bar.width(), std::max(grid.height(), bar.height()), QImage::Format_RGB32);
  out.fill(palette().window().color());
  QPainter p(&out);
  p.drawImage(0, 0, grid);
  p.drawImage(grid.width(), 0, bar);
  return out;
}

}  // namespace prisma::app
