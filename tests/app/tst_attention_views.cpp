// The Attention and Logit lens tabs driven offscreen on model-free results (synthetic
// patterns with known numbers), as a new user meets them: what the pattern matrix and its
// colour bar draw, relevancy's query, a fixed 0-1 scale, head-grid labels and outlines, a
// toolbar that keeps still, a grid that scrolls, a lens legend for every class, and what
// the tabs say before a model is open. Colours are read back from the rendered widgets.

#include "app/explorer/AttentionView.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/LogitLensView.h"
#include "widgets/ColorBar.h"
#include "widgets/HeadGrid.h"
#include "widgets/HeatmapView.h"
#include "widgets/PatchClassView.h"
#include "widgets/PatternMatrixView.h"

#include <QComboBox>
#include <QLabel>
#include <QLayout>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QToolButton>
#include <QtTest>

#include <functional>

using namespace prisma;
using app::AttentionResult;
using app::AttentionView;
using app::LogitLensView;

namespace {

constexpr int kLoadWaitMs = 60000;
// Rendered colours are exact (no smoothing); a little slack covers colour conversions.
constexpr int kColorSlack = 2;
// Text drawn light on a dark background reaches at least this luminance somewhere.
constexpr int kLightText = 200;

using PatternFn = std::function<float(int layer, int head, int query, int key)>;

// A result with no model behind it: CLS + grid x grid patches, pattern(l, h, q, k) for
// every weight (the views do not need rows to sum to one).
AttentionResult syntheticResult(int layers, int heads, int grid, const PatternFn& pattern) {
  AttentionResult r;
  r.title = QStringLiteral("synthetic");
  r.layers = layers;
  r.heads = heads;
  r.gridRows = r.gridCols = grid;
  r.hasCls = true;
  r.tokens = 1 + grid * grid;
  auto p = std::make_shared<std::vector<float>>(static_cast<size_t>(layers) * heads * r.tokens * r.tokens);
  size_t i = 0;
  for (int l = 0; l < layers; ++l)
    for (int h = 0; h < heads; ++h)
      for (int q = 0; q < r.tokens; ++q)
        for (int k = 0; k < r.tokens; ++k) (*p)[i++] = pattern(l, h, q, k);
  r.patterns = p;
  r.classNames = {QStringLiteral("circle"), QStringLiteral("square")};
  return r;
}

int luminance(QRgb c) { return qGray(c); }

bool sameColor(QRgb a, QRgb b) {
  return std::abs(qRed(a) - qRed(b)) <= kColorSlack && std::abs(qGreen(a) - qGreen(b)) <= kColorSlack &&
         std::abs(qBlue(a) - qBlue(b)) <= kColorSlack;
}

int maxLuminance(const QImage& img, const QRect& area) {
  int best = 0;
  const QRect r = area.intersected(img.rect());
  for (int y = r.top(); y <= r.bottom(); ++y)
    for (int x = r.left(); x <= r.right(); ++x) best = std::max(best, luminance(img.pixel(x, y)));
  return best;
}

// Whether a patch's outline is drawn in a colour `pred` accepts: its left edge, at
// mid-height, a pixel either side (a 2 px pen straddles the edge).
bool outlined(const QImage& img, const QRect& patch, const std::function<bool(QRgb)>& pred) {
  for (int dx : {-1, 0, 1})
    if (pred(img.pixel(patch.left() + dx, patch.center().y()))) return true;
  return false;
}

template <class W>
W* childNamed(QWidget& parent, const char* name) {
  return parent.findChild<W*>(QString::fromLatin1(name));
}

QComboBox* normalizationBox(QWidget& view) {
  for (auto* box : view.findChildren<QComboBox*>())
    if (box->findText(QStringLiteral("Per head")) >= 0) return box;
  return nullptr;
}

QToolButton* buttonWithText(QWidget& view, const QString& text) {
  for (auto* b : view.findChildren<QToolButton*>())
    if (b->text() == text) return b;
  return nullptr;
}

QLabel* labelContaining(QWidget& view, const QString& text) {
  for (auto* l : view.findChildren<QLabel*>())
    if (l->text().contains(text, Qt::CaseInsensitive)) return l;
  return nullptr;
}

}  // namespace

class TestAttentionViews : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    // Remembered colour maps and ranges would change the expected colours.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaTest"));
    QSettings().clear();
  }
  void init() { QSettings().clear(); }

  // Before a model is open the tabs explain what to do instead of showing bare colour bars.
  void emptyViewsSayWhatToDo() {
    AttentionView view;
    view.resize(900, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    for (auto* bar : view.findChildren<widgets::ColorBar*>()) QVERIFY(!bar->isVisible());
    auto* placeholder = childNamed<QLabel>(view, "attentionPlaceholder");
    QVERIFY(placeholder);
    QVERIFY(placeholder->isVisible());
    QVERIFY2(placeholder->text().contains(QStringLiteral("model"), Qt::CaseInsensitive), qPrintable(placeholder->text()));

    view.setResult(syntheticResult(1, 2, 3, [](int, int, int, int) { return 0.1f; }));
    QVERIFY(!placeholder->isVisible());
    QVERIFY(view.headGrid()->isVisible());

    LogitLensView lens;
    lens.resize(600, 500);
    lens.show();
    QVERIFY(QTest::qWaitForWindowExposed(&lens));
    auto* lensPlaceholder = childNamed<QLabel>(lens, "lensPlaceholder");
    QVERIFY(lensPlaceholder);
    QVERIFY(lensPlaceholder->isVisible());
    QVERIFY(lensPlaceholder->text().contains(QStringLiteral("model"), Qt::CaseInsensitive));
    QVERIFY(!lens.patchView()->isVisible());
    // A model without a classification head: the placeholder says why there is no lens.
    lens.setResult(syntheticResult(1, 1, 2, [](int, int, int, int) { return 0.1f; }));
    QVERIFY(lensPlaceholder->isVisible());
    QVERIFY2(lensPlaceholder->text().contains(QStringLiteral("classification head")), qPrintable(lensPlaceholder->text()));
  }

  // The matrix's bar is the range the matrix is drawn on, whatever the normalisation: a
  // cell's pixel is the colour map's colour for its value on the bar's range.
  void patternMatrixBarMatchesWhatItDraws_data() {
    QTest::addColumn<int>("normalization");
    QTest::addColumn<double>("low");
    QTest::addColumn<double>("high");
    // Head (l, h) holds (2l + h + 1) / 10 * ((q * tokens + k) % 7 + 1) / 7.
    // The selected head (0, 1): 0.2 * [1/7, 1]; the largest weight of all heads: 0.4.
    QTest::newRow("global range") << 0 << 0.0 << 0.4;
    QTest::newRow("per head") << 1 << 0.2 / 7 << 0.2;
    QTest::newRow("fixed 0-1") << 2 << 0.0 << 1.0;
  }
  void patternMatrixBarMatchesWhatItDraws() {
    QFETCH(int, normalization);
    QFETCH(double, low);
    QFETCH(double, high);
    constexpr int kGrid = 3, kTokens = 1 + kGrid * kGrid;
    auto pattern = [](int l, int h, int q, int k) {
      return float((2 * l + h + 1) / 10.0 * ((q * kTokens + k) % 7 + 1) / 7.0);
    };
    AttentionView view;
    view.resize(1200, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(syntheticResult(2, 2, kGrid, pattern));
    view.selectHead(0, 1);
    view.setPatternMode(true);
    QComboBox* box = normalizationBox(view);
    QVERIFY(box);
    QVERIFY(normalization < box->count());
    box->setCurrentIndex(normalization);

    auto* bar = childNamed<widgets::ColorBar>(view, "patternMatrixBar");
    QVERIFY(bar);
    QVERIFY(bar->isVisible());
    QVERIFY(std::abs(bar->low() - low) < 1e-5);
    QVERIFY(std::abs(bar->high() - high) < 1e-5);

    widgets::PatternMatrixView* matrix = view.patternView();
    const QImage shot = matrix->grab().toImage();
    const auto map = widgets::ColorMap::fromName(QStringLiteral("viridis"));
    for (int q = 0; q < kTokens; ++q)
      for (int k : {0, 3, kTokens - 1}) {
        const QRgb drawn = shot.pixel(matrix->cellRect(q, k).center());
        const QRgb expected = map.map(pattern(0, 1, q, k), bar->low(), bar->high()).rgb();
        QVERIFY2(sameColor(drawn, expected), qPrintable(QStringLiteral("q %1 k %2: drawn %3, bar says %4")
                                                            .arg(q)
                                                            .arg(k)
                                                            .arg(QColor(drawn).name(), QColor(expected).name())));
      }
  }

  // Axes leave room for token labels; hovering a cell reads out (query, key, value) and
  // outlines both patches on an image beside the matrix, not under it.
  void patternMatrixHasAxesReadoutAndImageBeside() {
    constexpr int kGrid = 3, kTokens = 1 + kGrid * kGrid;
    auto pattern = [](int, int, int q, int k) { return float(q * kTokens + k) / (kTokens * kTokens); };
    AttentionView view;
    view.resize(1200, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(syntheticResult(1, 1, kGrid, pattern));
    view.setPatternMode(true);
    widgets::PatternMatrixView* matrix = view.patternView();
    const QFontMetrics fm(matrix->font());
    QVERIFY2(matrix->cellRect(0, 0).left() >= fm.horizontalAdvance(QStringLiteral("CLS")),
             "no room for the query axis labels");
    QVERIFY2(matrix->height() - matrix->cellRect(kTokens - 1, kTokens - 1).bottom() >= fm.height(),
             "no room for the key axis labels");

    auto* image = childNamed<widgets::HeatmapView>(view, "matrixImage");
    QVERIFY(image);
    QVERIFY(image->isVisible());
    const QRect imageBox(image->mapTo(&view, QPoint()), image->size());
    const QRect matrixBox(matrix->mapTo(&view, QPoint()), matrix->size());
    QVERIFY(!imageBox.intersects(matrixBox));

    // Query: patch (row 1, col 2) = token 6; key: patch (row 0, col 1) = token 2.
    constexpr int kQuery = 1 + 1 * kGrid + 2, kKey = 1 + 0 * kGrid + 1;
    QTest::mouseMove(matrix, matrix->cellRect(0, 0).center());
    QTest::mouseMove(matrix, matrix->cellRect(kQuery, kKey).center());
    const QString readout = matrix->toolTip();
    QVERIFY2(readout.contains(QStringLiteral("row 1, col 2")), qPrintable(readout));
    QVERIFY2(readout.contains(QStringLiteral("row 0, col 1")), qPrintable(readout));
    QVERIFY2(readout.contains(widgets::ColorBar::formatValue(pattern(0, 0, kQuery, kKey))), qPrintable(readout));
    QTest::mouseMove(matrix, matrix->cellRect(kQuery, 0).center());
    QVERIFY2(matrix->toolTip().contains(QStringLiteral("CLS")), qPrintable(matrix->toolTip()));
    QTest::mouseMove(matrix, matrix->cellRect(kQuery, kKey).center());

    const QImage shot = image->grab().toImage();
    auto reddish = [](QRgb c) { return qRed(c) > 200 && qGreen(c) < 120; };
    auto white = [](QRgb c) { return luminance(c) > 220; };
    QVERIFY2(outlined(shot, image->patchRect(0, 1), reddish), "key patch not outlined");
    QVERIFY2(outlined(shot, image->patchRect(1, 2), white), "query patch not outlined");
  }

  // Register tokens (CLS, 2 registers, then patches) are neither patches on the grid nor
  // unnamed in the matrix.
  void registersAreNotPatches() {
    constexpr int kGrid = 2, kRegisters = 2;
    AttentionResult r;
    r.layers = r.heads = 1;
    r.gridRows = r.gridCols = kGrid;
    r.hasCls = true;
    r.registers = kRegisters;
    r.tokens = 1 + kRegisters + kGrid * kGrid;
    auto p = std::make_shared<std::vector<float>>(r.tokens * r.tokens);
    for (int q = 0; q < r.tokens; ++q)
      for (int k = 0; k < r.tokens; ++k) (*p)[q * r.tokens + k] = float(k) + 0.01f * q;  // weight = key index
    r.patterns = p;
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    view.setResult(r);
    const widgets::PatchGridValues cls = view.headGrid()->row(0).cells[0];
    QCOMPARE(cls.values, (QVector<float>{3.0f, 4.0f, 5.0f, 6.0f}));  // keys 3..6 are the patches
    view.setClsPinned(false);
    view.setQuery(QPoint(1, 0));  // token 1 + 2 + 1 = 4
    QCOMPARE(view.headGrid()->row(0).cells[0].values.first(), 3.04f);
    view.setPatternMode(true);
    QCOMPARE(view.patternView()->tokenName(2), QStringLiteral("register 1"));
    QCOMPARE(view.patternView()->tokenName(4), QStringLiteral("patch (row 0, col 1)"));
  }

  // Relevancy explains the predicted class from CLS: a patch query does not change it,
  // and the view says so.
  void relevancyExplainsThePredictionFromCls() {
    constexpr int kGrid = 3, kTokens = 1 + kGrid * kGrid;
    AttentionResult r = syntheticResult(1, 2, kGrid, [](int, int, int, int) { return 0.1f; });
    auto rel = std::make_shared<std::vector<float>>(kTokens * kTokens);
    for (int q = 0; q < kTokens; ++q)
      for (int k = 0; k < kTokens; ++k) (*rel)[q * kTokens + k] = float(q) + 0.01f * k;  // [query, key]
    r.relevancy = rel;
    r.relevancyClass = 1;
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    view.setResult(r);
    view.setClsPinned(false);
    view.setQuery(QPoint(1, 2));
    const int row = r.layers;  // no rollout: relevancy follows the layers
    QCOMPARE(view.headGrid()->row(row).label, QStringLiteral("relevancy"));
    view.headGrid()->setSelected(row, 0);
    const widgets::PatchGridValues shown = view.largeView()->heat();
    QCOMPARE(shown.values.size(), kGrid * kGrid);
    for (int i = 0; i < shown.values.size(); ++i) QVERIFY(std::abs(shown.values[i] - 0.01f * (i + 1)) < 1e-6f);
    QLabel* title = labelContaining(view, QStringLiteral("relevancy"));
    QVERIFY(title);
    QVERIFY2(title->text().contains(QStringLiteral("CLS")), qPrintable(title->text()));
    QVERIFY2(title->text().contains(QStringLiteral("square")), qPrintable(title->text()));
  }

  // Nearly uniform attention (1/10 +- 0.001) under a fixed 0-1 scale: dark everywhere, one
  // colour, and the bars say 0..1.
  void fixedScaleShowsNearlyUniformAsUniform() {
    constexpr int kGrid = 3, kTokens = 1 + kGrid * kGrid;
    auto pattern = [](int, int, int q, int k) { return 0.1f + 0.001f * float((q + k) % 3 - 1); };
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    view.setResult(syntheticResult(1, 2, kGrid, pattern));
    QComboBox* box = normalizationBox(view);
    QVERIFY(box);
    const int fixed = box->findText(QStringLiteral("Fixed 0\u20131"));
    QVERIFY(fixed >= 0);
    box->setCurrentIndex(fixed);
    QCOMPARE(view.largeView()->rangeLow(), 0.0);
    QCOMPARE(view.largeView()->rangeHigh(), 1.0);
    for (auto* bar : view.findChildren<widgets::ColorBar*>())
      if (bar->isVisible()) QCOMPARE(bar->high(), 1.0);
    const auto map = widgets::ColorMap::fromName(QStringLiteral("viridis"));
    const QColor uniform = map.map(0.1, 0.0, 1.0);
    for (int r = 0; r < kGrid; ++r)
      for (int c = 0; c < kGrid; ++c) {
        QVERIFY(sameColor(view.headGrid()->cellColor(0, 1, r, c).rgb(), uniform.rgb()));
        QVERIFY(sameColor(view.largeView()->heatColor(r, c).rgb(), uniform.rgb()));
      }
    (void)kTokens;
  }

  // Head-grid labels are light on a dark box over dark thumbnails; heads in index order get
  // column headers; the query patch is outlined on every head's thumbnail.
  void headGridLabelsHeadersAndQueryOutline() {
    constexpr int kGrid = 3, kHeads = 4;
    AttentionResult r = syntheticResult(2, kHeads, kGrid, [](int, int, int, int) { return 0.0f; });
    r.stats.entropy = {4, 3, 2, 1, 1, 2, 3, 4};
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(r);
    widgets::HeadGrid* grid = view.headGrid();

    // Index order: a header row above the first row of thumbnails (above head 2: head 0's
    // selection frame is not text).
    const QColor base = grid->palette().base().color();
    QImage shot = grid->grab().toImage();
    const QRect under = grid->cellRect(0, 2);
    const int strip = under.top() - 2;  // clear of the cell and its frame
    QVERIFY2(strip >= QFontMetrics(grid->font()).height() - 2, "no room for column headers");
    int inked = 0;
    for (int y = 0; y < strip; ++y)
      for (int x = under.left(); x <= under.right(); ++x) inked += shot.pixel(x, y) != base.rgb();
    QVERIFY2(inked > 5, "no column header above head 2");

    // Query outline on every head of layer 0 (white over the dark thumbnails).
    view.setClsPinned(false);
    view.setQuery(QPoint(1, 1));
    shot = grid->grab().toImage();
    for (int c = 0; c < kHeads; ++c) {
      const QRect cell = grid->cellRect(0, c);
      const QRect patch(cell.left() + cell.width() / kGrid, cell.top() + cell.height() / kGrid, cell.width() / kGrid,
                        cell.height() / kGrid);
      QVERIFY2(outlined(shot, patch, [](QRgb px) { return luminance(px) > kLightText; }),
               qPrintable(QStringLiteral("head %1").arg(c)));
    }

    // Sorted: each cell names its head, readable over the dark thumbnail.
    view.setQuery(std::nullopt);
    view.setHeadOrder(AttentionView::HeadOrder::Entropy);
    shot = grid->grab().toImage();
    const QFontMetrics fm(grid->font());
    const QRect cell = grid->cellRect(0, 0);
    const QRect labelArea(cell.topLeft(), QSize(fm.horizontalAdvance(QStringLiteral("H3")) + 6, fm.height() + 2));
    QVERIFY2(maxLuminance(shot, labelArea) > kLightText, "head label not readable over a dark thumbnail");
  }

  // The query label has a fixed width: the buttons after it do not move.
  void toolbarDoesNotJumpWhenTheQueryChanges() {
    AttentionView view;
    view.resize(1100, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(syntheticResult(1, 1, 14, [](int, int, int, int) { return 0.1f; }));
    QToolButton* cls = buttonWithText(view, QStringLiteral("CLS"));
    QVERIFY(cls);
    view.layout()->activate();
    const int x = cls->mapTo(&view, QPoint()).x();
    view.setClsPinned(false);
    for (QPoint q : {QPoint(0, 3), QPoint(13, 13), QPoint(1, 1)}) {
      view.setQuery(q);
      view.layout()->activate();
      QCOMPARE(cls->mapTo(&view, QPoint()).x(), x);
    }
  }

  // The tab does not set the window's minimum width: controls that do not fit go to the
  // tool bar's extension, the views shrink (1024 px windows have docks beside the tab).
  void narrowWindowsFit() {
    constexpr int kNarrowTab = 560;
    AttentionView view;
    view.setResult(syntheticResult(12, 12, 14, [](int, int, int, int) { return 0.1f; }));
    view.setPatternMode(true);
    view.resize(kNarrowTab, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY2(view.minimumSizeHint().width() <= kNarrowTab, qPrintable(QString::number(view.minimumSizeHint().width())));
    QCOMPARE(view.width(), kNarrowTab);
  }

  // Many heads (24 layers x 16 heads): the grid scrolls instead of squeezing thumbnails
  // or growing the window; thumbnails fill the width; the keyboard scrolls to the end.
  void headGridScrollsForManyHeads() {
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(syntheticResult(24, 16, 2, [](int, int, int, int) { return 0.2f; }));
    widgets::HeadGrid* grid = view.headGrid();
    QScrollArea* area = nullptr;
    for (QWidget* w = grid->parentWidget(); w && !area; w = w->parentWidget()) area = qobject_cast<QScrollArea*>(w);
    QVERIFY(area);
    QCOMPARE(view.height(), 600);
    QVERIFY(area->verticalScrollBar()->isVisible());
    const int viewportWidth = area->viewport()->width();
    QVERIFY(grid->cellRect(0, 0).width() >= 24);
    QVERIFY2(grid->cellRect(0, 15).right() >= 0.85 * viewportWidth,
             qPrintable(QStringLiteral("%1 of %2").arg(grid->cellRect(0, 15).right()).arg(viewportWidth)));
    grid->setFocus();
    grid->setSelected(0, 0);
    for (int i = 0; i < grid->rowCount(); ++i) QTest::keyClick(grid, Qt::Key_Down);
    const int last = grid->rowCount() - 1;
    QCOMPARE(grid->selected().y(), last);
    const QRect shown(grid->mapTo(area->viewport(), grid->cellRect(last, 0).topLeft()), grid->cellRect(last, 0).size());
    QVERIFY(area->viewport()->rect().contains(shown));
  }

  // Thumbnails grow with the space they are given.
  void headGridThumbnailsScaleToTheSpace() {
    auto result = syntheticResult(12, 12, 2, [](int, int, int, int) { return 0.2f; });
    AttentionView view;
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setResult(result);
    const int small = view.headGrid()->cellRect(0, 0).width();
    view.resize(1600, 1000);
    view.layout()->activate();
    QTRY_VERIFY(view.headGrid()->cellRect(0, 0).width() > small * 3 / 2);
  }

  // Every class the lens shows has a legend entry in its colour; counts are plural only
  // when they should be; numeric class names are not repeated as "7 (7)".
  void lensLegendNamesEveryClassShown() {
    constexpr int kGrid = 3;
    AttentionResult r = syntheticResult(1, 1, kGrid, [](int, int, int, int) { return 0.1f; });
    r.classNames.clear();
    for (int c = 0; c < 10; ++c) r.classNames << QString::number(c);  // MNIST-like names
    r.lensLayers = 2;
    const std::vector<int> winners = {0, 1, 2, 3, 4, 5, 6, 7, 7,   // before layer 0: 8 classes
                                      7, 7, 7, 7, 7, 7, 7, 7, 7};  // final: one class
    r.lensTopClass = std::make_shared<const std::vector<int>>(winners);
    r.lensTopLogit = std::make_shared<const std::vector<float>>(winners.size(), 1.0f);
    LogitLensView lens;
    lens.resize(700, 600);
    lens.show();
    lens.setResult(r);
    lens.setLayer(0);
    auto* legend = childNamed<QLabel>(lens, "lensLegend");
    QVERIFY(legend);
    const QString text = legend->text();
    for (int c = 0; c <= 7; ++c)
      QVERIFY2(text.contains(widgets::PatchClassView::classColor(c).name()), qPrintable(QString::number(c) + ": " + text));
    QVERIFY2(text.contains(QStringLiteral("1 patch")) && !text.contains(QStringLiteral("1 patches")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("2 patches")), qPrintable(text));
    QVERIFY2(!text.contains(QStringLiteral("7 (7)")), qPrintable(text));
    lens.setLayer(1);
    QVERIFY2(legend->text().contains(QStringLiteral("9 patches")), qPrintable(legend->text()));
  }

  // The model summary of a one-layer mouse says "1 layer".
  void modelSummaryCountsInTheSingular() {
    app::ExplorerController controller;
    QSignalSpy loaded(&controller, &app::ExplorerController::modelLoaded);
    controller.loadModel(QStringLiteral("mouse:induction-1L"));
    QVERIFY(loaded.wait(kLoadWaitMs));
    const QString text = loaded.at(0).at(0).value<app::ModelSummary>().architecture;
    QVERIFY2(text.startsWith(QStringLiteral("1 layer \u00d7 4 heads")), qPrintable(text));
  }
};

QTEST_MAIN(TestAttentionViews)
#include "tst_attention_views.moc"
