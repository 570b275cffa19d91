// The layers x heads grid and the prediction bars: selection by click and keys, shared
// vs per-cell colour ranges, bar lengths.

#include "widgets/HeadGrid.h"
#include "widgets/TopKBars.h"

#include <QScrollBar>
#include <QSignalSpy>
#include <QtTest>

using namespace prisma::widgets;

namespace {
// layers x heads cells of 2x2 patches; cell (l, h) holds values l*10 + h + patch/10.
QVector<HeadGridRow> grid(int layers, int heads) {
  QVector<HeadGridRow> rows;
  for (int l = 0; l < layers; ++l) {
    HeadGridRow row{QStringLiteral("L%1").arg(l), {}, {}, false};
    for (int h = 0; h < heads; ++h) {
      PatchGridValues g{2, 2, {}};
      for (int p = 0; p < 4; ++p) g.values.push_back(float(l * 10 + h) + p / 10.0f);
      row.cells.push_back(g);
    }
    rows.push_back(row);
  }
  return rows;
}
}  // namespace

class TestHeadGrid : public QObject {
  Q_OBJECT

private slots:
  void clickSelectsAndDoubleClickActivates() {
    HeadGrid w;
    w.setRows(grid(3, 4));
    w.resize(w.sizeHint());
    QSignalSpy selected(&w, &HeadGrid::cellSelected);
    QSignalSpy activated(&w, &HeadGrid::cellActivated);
    QTest::mouseClick(&w, Qt::LeftButton, {}, w.cellRect(2, 1).center());
    QCOMPARE(selected.count(), 1);
    QCOMPARE(w.selected(), QPoint(1, 2));
    QTest::mouseDClick(&w, Qt::LeftButton, {}, w.cellRect(0, 3).center());
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.at(0).at(0).toInt(), 0);
    QCOMPARE(activated.at(0).at(1).toInt(), 3);
  }

  void arrowKeysMoveBetweenHeadsAndLayers() {
    HeadGrid w;
    auto rows = grid(2, 3);
    rows.push_back({QStringLiteral("rollout"), {rows[0].cells[0]}, {}, false});  // a one-cell row
    w.setRows(rows);
    w.setSelected(0, 0);
    QTest::keyClick(&w, Qt::Key_Right);
    QTest::keyClick(&w, Qt::Key_Right);
    QTest::keyClick(&w, Qt::Key_Right);  // stops at the last head
    QCOMPARE(w.selected(), QPoint(2, 0));
    QTest::keyClick(&w, Qt::Key_Down);
    QCOMPARE(w.selected(), QPoint(2, 1));
    QTest::keyClick(&w, Qt::Key_Down);  // onto the rollout row: column clamps to 0
    QCOMPARE(w.selected(), QPoint(0, 2));
    QSignalSpy activated(&w, &HeadGrid::cellActivated);
    QTest::keyClick(&w, Qt::Key_Return);
    QCOMPARE(activated.count(), 1);
  }

  void sharedAndPerCellRanges() {
    HeadGrid w;
    w.setRows(grid(2, 2));
    const ColorMap map;
    w.setRange(0.0, 20.0);
    QCOMPARE(w.cellColor(1, 1, 0, 0), map.map(11.0, 0.0, 20.0));
    w.setPerCellNormalization(true);  // each cell spans its own min..max
    QCOMPARE(w.cellColor(1, 1, 0, 0), map.at(0.0));
    QCOMPARE(w.cellColor(1, 1, 1, 1), map.at(1.0));
  }

  void wholeModelRowsKeepTheirOwnRange() {
    HeadGrid w;
    auto rows = grid(1, 2);
    PatchGridValues relevancy{2, 2, {0.0f, 50.0f, 100.0f, 200.0f}};
    rows.push_back({QStringLiteral("relevancy"), {relevancy}, {}, true});
    w.setRows(rows);
    w.setRange(0.0, 2.0);  // the heads' shared range does not clip the relevancy row
    const ColorMap map;
    QCOMPARE(w.cellColor(1, 0, 1, 1), map.at(1.0));
    QCOMPARE(w.cellColor(1, 0, 0, 1), map.at(0.25));
    QCOMPARE(w.cellColor(0, 1, 0, 0), map.map(1.0, 0.0, 2.0));
  }

  // Cell labels sit in a box inside their cell, elided rather than spilling into the next.
  void cellLabelsStayInsideTheirCell() {
    HeadGrid w;
    auto rows = grid(1, 2);
    rows[0].cellLabels = {QStringLiteral("H1"), QStringLiteral("a class name far longer than any thumbnail")};
    w.setRows(rows);
    w.resize(w.minimumSizeHint());
    for (int c = 0; c < 2; ++c) {
      QVERIFY(!w.cellLabelRect(0, c).isEmpty());
      QVERIFY(w.cellRect(0, c).contains(w.cellLabelRect(0, c)));
    }
    QVERIFY(w.cellLabelRect(0, 0).width() < w.cellRect(0, 0).width());  // fits its text, not the cell
  }

  // Column headers add a strip above the first row; cells move down by its height.
  void columnHeadersAboveTheFirstRow() {
    HeadGrid w;
    w.setRows(grid(2, 3));
    w.resize(w.sizeHint());
    const int top = w.cellRect(0, 0).top();
    QSignalSpy changed(&w, &HeadGrid::contentChanged);
    w.setColumnHeaders({QStringLiteral("H0"), QStringLiteral("H1"), QStringLiteral("H2")});
    QCOMPARE(changed.count(), 1);
    w.resize(w.sizeHint());
    QCOMPARE(w.columnHeaders().value(2), QStringLiteral("H2"));
    QVERIFY(w.cellRect(0, 0).top() >= top + QFontMetrics(w.font()).height());
    // Clicks still find the right cell below the headers.
    QTest::mouseClick(&w, Qt::LeftButton, {}, w.cellRect(1, 2).center());
    QCOMPARE(w.selected(), QPoint(2, 1));
  }

  // The scroll area: a small grid fits without scrolling and fills the space; a big one
  // (24 x 16) fills the width and scrolls vertically at a readable size.
  void scrollAreaFitsOrScrolls_data() {
    QTest::addColumn<int>("layers");
    QTest::addColumn<int>("heads");
    QTest::addColumn<bool>("scrolls");
    QTest::newRow("mouse 4x4") << 4 << 4 << false;
    QTest::newRow("ViT-B 12x12") << 12 << 12 << true;
    QTest::newRow("ViT-L 24x16") << 24 << 16 << true;
  }
  void scrollAreaFitsOrScrolls() {
    QFETCH(int, layers);
    QFETCH(int, heads);
    QFETCH(bool, scrolls);
    auto* grid = new HeadGrid;
    HeadGridScrollArea area(grid);
    area.resize(640, 480);
    grid->setRows(::grid(layers, heads));
    area.show();
    QVERIFY(QTest::qWaitForWindowExposed(&area));
    QCOMPARE(area.verticalScrollBar()->isVisible(), scrolls);
    QVERIFY(!area.horizontalScrollBar()->isVisible());
    const QSize viewport = area.viewport()->size();
    const QRect last = grid->cellRect(layers - 1, heads - 1);
    QVERIFY(grid->cellRect(0, 0).width() >= 24);
    // No half-empty panel: the cells reach across the width or down the height.
    const double used = std::max(double(last.right()) / viewport.width(), double(last.bottom()) / viewport.height());
    QVERIFY2(used > 0.85, qPrintable(QString::number(used)));
    if (scrolls) QVERIFY(last.bottom() > viewport.height());
  }

  void barsAreProportionalToProbability() {
    TopKBars bars;
    bars.resize(400, 100);
    bars.setScores({{"tabby", 0.8}, {"tiger cat", 0.2}, {"lynx", 0.0}});
    QVERIFY(bars.barWidth(0) > 0);
    QVERIFY(std::abs(bars.barWidth(0) - 4 * bars.barWidth(1)) <= 2);
    QCOMPARE(bars.barWidth(2), 0);
  }
};

QTEST_MAIN(TestHeadGrid)
#include "tst_head_grid.moc"
