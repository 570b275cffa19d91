// The large attention view and the pattern matrix: hovering reports the patch (or the
// query/key cell) under the mouse, the heat layer draws each patch's value with the colour
// map on the chosen range.

#include "widgets/ColorBar.h"
#include "widgets/HeatmapView.h"
#include "widgets/PatternMatrixView.h"

#include <QSignalSpy>
#include <QtTest>

using namespace prisma::widgets;

namespace {
PatchGridValues ramp(int rows, int cols) {
  PatchGridValues g{rows, cols, {}};
  for (int i = 0; i < rows * cols; ++i) g.values.push_back(float(i) / (rows * cols - 1));
  return g;
}
}  // namespace

class TestHeatmapView : public QObject {
  Q_OBJECT

private slots:
  void hoverReportsThePatch_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("col");
    QTest::newRow("top-left") << 0 << 0;
    QTest::newRow("middle") << 2 << 1;
    QTest::newRow("bottom-right") << 3 << 3;
  }

  void hoverReportsThePatch() {
    QFETCH(int, row);
    QFETCH(int, col);
    HeatmapView view;
    view.resize(208, 208);
    view.setHeat(ramp(4, 4));
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QSignalSpy hovered(&view, &HeatmapView::patchHovered);
    const QRect r = view.patchRect(row, col);
    QVERIFY(!r.isEmpty());
    QTest::mouseMove(&view, r.center());
    QTRY_COMPARE(hovered.count(), 1);
    QCOMPARE(hovered.at(0).at(0).toInt(), row);
    QCOMPARE(hovered.at(0).at(1).toInt(), col);
    QSignalSpy clicked(&view, &HeatmapView::patchClicked);
    QTest::mouseClick(&view, Qt::LeftButton, {}, r.center());
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(1).toInt(), col);
  }

  void patchRectsTileTheImage() {
    HeatmapView view;
    view.resize(300, 200);  // wider than tall: the square grid is centred
    view.setHeat(ramp(7, 7));
    const QRect first = view.patchRect(0, 0), last = view.patchRect(6, 6);
    QCOMPARE(view.patchAt(first.topLeft()), std::optional<QPoint>(QPoint(0, 0)));
    QCOMPARE(view.patchAt(last.bottomRight()), std::optional<QPoint>(QPoint(6, 6)));
    QVERIFY(!view.patchAt(QPoint(1, 1)).has_value());  // in the margin left of the image
    QVERIFY(std::abs((last.right() - first.left()) - (last.bottom() - first.top())) <= 1);
  }

  void heatColoursFollowTheRange() {
    HeatmapView view;
    view.setHeat(ramp(2, 2));  // 0, 1/3, 2/3, 1
    const ColorMap viridis;
    QCOMPARE(view.heatColor(0, 0), viridis.at(0.0));
    QCOMPARE(view.heatColor(1, 1), viridis.at(1.0));
    view.setRange(0.0, 2.0);  // global normalisation over a wider range
    QCOMPARE(view.heatColor(1, 1), viridis.at(0.5));
    QCOMPARE(view.heatColor(0, 1), viridis.at(1.0 / 6.0));
  }

  void paintsHeatOverTheImage() {
    HeatmapView view;
    view.resize(100, 100);
    QImage black(8, 8, QImage::Format_RGB32);
    black.fill(Qt::black);
    view.setImage(black);
    PatchGridValues one{1, 1, {1.0f}};
    view.setHeat(one);
    view.setOpacity(1.0);
    view.setGridVisible(false);
    const QImage shot = view.grab().toImage();
    QCOMPARE(QColor(shot.pixel(view.patchRect(0, 0).center())), ColorMap().at(1.0));
    view.setOpacity(0.0);
    QCOMPARE(QColor(view.grab().toImage().pixel(view.patchRect(0, 0).center())), QColor(Qt::black));
  }

  void patternMatrixHover() {
    PatternMatrixView v;
    v.resize(170, 170);
    QVector<float> values(17 * 17, 0.0f);
    v.setPattern(17, values);
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    QSignalSpy hovered(&v, &PatternMatrixView::cellHovered);
    QTest::mouseMove(&v, v.cellRect(5, 12).center());
    QTRY_VERIFY(!hovered.isEmpty());
    QCOMPARE(hovered.last().at(0).toInt(), 5);   // query
    QCOMPARE(hovered.last().at(1).toInt(), 12);  // key
    // Every cell's first and last pixel read back as that cell, at any size (at 170 px the
    // cells are about a pixel wide, where rounding once picked the neighbour).
    for (int size : {170, 400}) {
      v.resize(size, size);
      for (int k = 0; k < 17; ++k) {
        const QRect r = v.cellRect(k, k);
        for (const QPoint& p : {r.topLeft(), r.bottomRight()}) {
          if (r.isEmpty()) continue;
          QTest::mouseMove(&v, p);
          QTRY_COMPARE(hovered.last().at(1).toInt(), k);
          QCOMPARE(hovered.last().at(0).toInt(), k);
        }
      }
    }
    v.setPattern(3, values);  // wrong size: ignored rather than read out of bounds
    QCOMPARE(v.tokens(), 0);
  }

  void colorBarLabels() {
    QCOMPARE(ColorBar::formatValue(0.123456), QStringLiteral("0.123"));
    QCOMPARE(ColorBar::formatValue(-2.0), QStringLiteral("-2"));
    ColorBar bar;
    bar.setRange(-1.0, 3.0);
    QCOMPARE(bar.low(), -1.0);
    QCOMPARE(bar.high(), 3.0);
  }
};

QTEST_MAIN(TestHeatmapView)
#include "tst_heatmap_view.moc"
