// The pattern matrix and the colour bar on their own: token names on the axes and in the
// hover read-out (CLS, registers, patch row/col), the matrix's bar following its range,
// and the data bracket on a bar.

#include "widgets/ColorBar.h"
#include "widgets/PatternMatrixView.h"

#include <QSignalSpy>
#include <QtTest>

using namespace prisma::widgets;

class TestPatternMatrix : public QObject {
  Q_OBJECT

private slots:
  // CLS, two registers, then a 2 x 3 patch grid: 9 tokens.
  void tokenNamesFollowTheLayout() {
    PatternMatrixView w;
    constexpr int kTokens = 1 + 2 + 2 * 3;
    QVector<float> values(kTokens * kTokens);
    for (int i = 0; i < values.size(); ++i) values[i] = float(i) / values.size();
    w.setPattern(kTokens, values);
    w.setTokenLayout(true, 2, 2, 3);
    QCOMPARE(w.tokenName(0), QStringLiteral("CLS"));
    QCOMPARE(w.tokenName(2), QStringLiteral("register 1"));
    QCOMPARE(w.tokenName(3), QStringLiteral("patch (row 0, col 0)"));
    QCOMPARE(w.tokenName(8), QStringLiteral("patch (row 1, col 2)"));
    const auto ticks = w.axisTicks();
    QCOMPARE(ticks.size(), 4);  // CLS, reg, r0, r1
    QCOMPARE(ticks[0], qMakePair(0, QStringLiteral("CLS")));
    QCOMPARE(ticks[1], qMakePair(1, QStringLiteral("reg")));
    QCOMPARE(ticks[3], qMakePair(6, QStringLiteral("r1")));
    // A layout that does not add up names tokens by index instead of guessing.
    w.setTokenLayout(true, 0, 2, 3);
    QCOMPARE(w.tokenName(3), QStringLiteral("token 3"));
    QVERIFY(w.axisTicks().isEmpty());
  }

  void hoverReadsOutQueryKeyAndValue() {
    PatternMatrixView w;
    w.resize(420, 360);
    constexpr int kTokens = 1 + 2 * 2;
    QVector<float> values(kTokens * kTokens, 0.0f);
    values[3 * kTokens + 0] = 0.625f;  // query patch (1, 0) -> key CLS
    w.setPattern(kTokens, values);
    w.setTokenLayout(true, 0, 2, 2);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy hovered(&w, &PatternMatrixView::cellHovered);
    QTest::mouseMove(&w, w.cellRect(3, 0).center());
    QCOMPARE(hovered.count(), 1);
    QCOMPARE(hovered.at(0).at(0).toInt(), 3);
    QCOMPARE(hovered.at(0).at(1).toInt(), 0);
    QCOMPARE(w.hoverText(), QStringLiteral("query patch (row 1, col 0) \u2192 key CLS: 0.625"));
    QCOMPARE(w.toolTip(), w.hoverText());
  }

  // The bar is the matrix's: same range, and it brackets the values drawn.
  void barFollowsTheMatrixRange() {
    PatternMatrixView w;
    w.resize(420, 360);
    w.setPattern(2, {0.1f, 0.2f, 0.3f, 0.4f});
    w.setRange(0.1, 0.4);
    ColorBar* bar = w.colorBar();
    QCOMPARE(bar->low(), 0.1);
    QCOMPARE(bar->high(), 0.4);
    QVERIFY(bar->dataRange());
    QCOMPARE(float(bar->dataRange()->first), 0.1f);
    QCOMPARE(float(bar->dataRange()->second), 0.4f);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    // Beside the matrix, not over it.
    QVERIFY(bar->geometry().left() > w.cellRect(1, 1).right());
  }

  // A nearly uniform map on 0..1: the bracket is short and sits where the values are.
  void dataBracketMarksWhereTheValuesLie() {
    ColorBar bar;
    bar.resize(80, 300);
    bar.setRange(0.0, 1.0);
    bar.setDataRange(std::make_pair(0.058, 0.062));
    QVERIFY(std::abs(bar.yOf(0.06) - bar.yOf(0.0)) < std::abs(bar.yOf(1.0) - bar.yOf(0.0)) / 10);
    QVERIFY(bar.toolTip().contains(QStringLiteral("0.058")));
    const QImage shot = bar.grab().toImage();
    // Ink left of the bar at the data's height, none at the top of the scale.
    auto inkAt = [&](int y) {
      int ink = 0;
      for (int x = 0; x < 10; ++x) ink += qGray(shot.pixel(x, y)) < 128;
      return ink;
    };
    QVERIFY(inkAt(bar.yOf(0.06)) > 0);
    QCOMPARE(inkAt(bar.yOf(0.8)), 0);
  }
};

QTEST_MAIN(TestPatternMatrix)
#include "tst_pattern_matrix.moc"
