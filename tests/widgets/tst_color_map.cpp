// Colour maps: end points equal matplotlib's, diverging maps centre on zero.

#include "widgets/ColorMap.h"

#include <QtTest>

using prisma::widgets::ColorMap;

class TestColorMap : public QObject {
  Q_OBJECT

private slots:
  void endPoints_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QColor>("low");
    QTest::addColumn<QColor>("high");
    QTest::newRow("viridis") << "viridis" << QColor(68, 1, 84) << QColor(253, 231, 37);
    QTest::newRow("magma") << "magma" << QColor(0, 0, 4) << QColor(252, 253, 191);
    QTest::newRow("grey") << "grey" << QColor(0, 0, 0) << QColor(255, 255, 255);
  }

  void endPoints() {
    QFETCH(QString, name);
    QFETCH(QColor, low);
    QFETCH(QColor, high);
    const ColorMap map = ColorMap::fromName(name);
    QCOMPARE(map.name(), name);
    QCOMPARE(map.at(0.0), low);
    QCOMPARE(map.at(1.0), high);
    QCOMPARE(map.at(-3.0), low);   // clamped
    QCOMPARE(map.at(7.0), high);
    QCOMPARE(map.map(5.0, 5.0, 10.0), low);
  }

  void greyIsLinear() {
    const ColorMap grey(ColorMap::Kind::Grey);
    QCOMPARE(grey.at(0.5), QColor(128, 128, 128));
    QCOMPARE(grey.map(3.0, 2.0, 6.0), QColor(64, 64, 64));
  }

  void divergingCentresOnZero() {
    const ColorMap map(ColorMap::Kind::Diverging);
    const QColor white(247, 247, 247);
    QCOMPARE(map.map(0.0, -1.0, 3.0), white);
    // Equal magnitudes, equal distance from the centre whatever the range's asymmetry.
    QCOMPARE(map.map(-3.0, -1.0, 3.0), map.at(0.0));
    QCOMPARE(map.map(3.0, -1.0, 3.0), map.at(1.0));
    QCOMPARE(map.map(0.0, 0.0, 0.0), white);
  }

  void nanIsTransparent() { QCOMPARE(ColorMap().at(std::nan("")).alpha(), 0); }
};

QTEST_MAIN(TestColorMap)
#include "tst_color_map.moc"
