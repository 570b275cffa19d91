// The generated data sets -- Induction (and its polygenic variant), Circle, dSprites -- pixel
// for pixel against the original recipes, their balance, splits and determinism.
#include "DatasetTestSupport.h"

class TestSyntheticDatasets : public QObject {
  Q_OBJECT

private slots:
  void balance_data();
  void balance();
  void inductionPixels_data();
  void inductionPixels();
  void polygenicLayout();
  void circlePairs();
  void circlePixels();
  void dspritesGrid();
  void dspritesGeometry_data();
  void dspritesGeometry();
  void dspritesItemsMatchFactors();
  void dspritesLabelFactor_data();
  void dspritesLabelFactor();
  void determinism_data();
  void determinism();
};

void TestSyntheticDatasets::balance_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<qulonglong>("train");
  QTest::addColumn<qulonglong>("test");
  QTest::addColumn<int>("classes");
  QTest::addColumn<qulonglong>("trainPerClass");  // 0: not balanced
  QTest::addColumn<qulonglong>("testPerClass");

  QTest::newRow("induction") << "induction" << 5872ULL << 656ULL << 4 << 1468ULL << 164ULL;
  // 736 positions × 12 pairs = 8,832 per balanced class; 884 of them (10 %, rounded up) test.
  QTest::newRow("induction-polygenic") << "induction-polygenic" << 95376ULL << 10608ULL << 12
                                       << 7948ULL << 884ULL;
  QTest::newRow("circle") << "circle" << 885ULL << 885ULL << 60 << 0ULL << 0ULL;
}

void TestSyntheticDatasets::balance() {
  QFETCH(QString, name);
  QFETCH(qulonglong, train);
  QFETCH(qulonglong, test);
  QFETCH(int, classes);
  QFETCH(qulonglong, trainPerClass);
  QFETCH(qulonglong, testPerClass);

  const auto d = makeDataset(name.toStdString());
  QCOMPARE(qulonglong(d->size(Split::Train)), train);
  QCOMPARE(qulonglong(d->size(Split::Test)), test);
  QCOMPARE(int(d->classNames().size()), classes);
  if (trainPerClass == 0) return;
  for (std::size_t n : classCounts(*d, Split::Train)) QCOMPARE(qulonglong(n), trainPerClass);
  for (std::size_t n : classCounts(*d, Split::Test)) QCOMPARE(qulonglong(n), testPerClass);
}

void TestSyntheticDatasets::inductionPixels_data() {
  QTest::addColumn<int>("label");
  QTest::addColumn<bool>("vertical");
  QTest::addColumn<bool>("same");
  QTest::newRow("vertical-same") << 0 << true << true;
  QTest::newRow("vertical-different") << 1 << true << false;
  QTest::newRow("horizontal-same") << 2 << false << true;
  QTest::newRow("horizontal-different") << 3 << false << false;
}

void TestSyntheticDatasets::inductionPixels() {
  QFETCH(int, label);
  QFETCH(bool, vertical);
  QFETCH(bool, same);

  const InductionDataset d;
  QCOMPARE(d.rawCount(), InductionDataset::kRawCount);
  QCOMPARE(d.classNames()[label], std::string(QTest::currentDataTag()));
  int checked = 0;
  for (std::size_t i = 0; i < d.size(Split::Test); ++i) {
    const Item item = d.item(Split::Test, i);
    if (item.label != label) continue;
    QCOMPARE(item.height, 32);
    QCOMPARE(item.channels, 1);
    const InductionReading reading = readInduction(item);
    QVERIFY2(reading.valid, qPrintable(QString("test item %1: not two separate shapes").arg(i)));
    QCOMPARE(reading.vertical, vertical);
    QCOMPARE(reading.same, same);
    QCOMPARE(item.factors.at("shape_a") == item.factors.at("shape_b"), same);
    ++checked;
  }
  QCOMPARE(checked, 164);
}

void TestSyntheticDatasets::polygenicLayout() {
  const PolygenicInductionDataset d;
  // 2 orientations × 16 × 46 positions × (16 AAAA + 5 patterns × 12 pairs).
  QCOMPARE(d.rawCount(), std::size_t{111872});
  for (std::size_t i = 0; i < 200; ++i) {
    const Item item = d.item(Split::Train, i);
    const bool horizontal = item.label < PolygenicInductionDataset::kPatternCount;
    QCOMPARE(d.classNames()[item.label].rfind(horizontal ? "horizontal" : "vertical", 0), std::size_t{0});
    // Four shapes in a line: three empty bands across the line's direction.
    const std::vector<Pixel> pixels = nonZero(item);
    std::set<int> along;
    for (const auto& [r, c] : pixels) along.insert(horizontal ? c : r);
    std::set<int> across;
    for (const auto& [r, c] : pixels) across.insert(horizontal ? r : c);
    QVERIFY(*across.rbegin() - *across.begin() <= 4);
    QVERIFY(*along.rbegin() - *along.begin() >= 3 * 7);
  }
}

void TestSyntheticDatasets::circlePairs() {
  const CircleDataset d(3);
  std::set<std::pair<int, int>> seen;
  for (Split split : {Split::Train, Split::Test})
    for (std::size_t i = 0; i < d.size(split); ++i) {
      const Item item = d.item(split, i);
      const int a = int(item.factors.at("a")), b = int(item.factors.at("b"));
      QVERIFY(a < b);
      QCOMPARE(item.label, (a + b) % 60);
      QCOMPARE(d.label(split, i), item.label);
      seen.emplace(a, b);
    }
  QCOMPARE(seen.size(), CircleDataset::kPairCount);
  QCOMPARE(seen.size(), std::size_t{1770});
}

void TestSyntheticDatasets::circlePixels() {
  const CircleDataset d;
  // The exact point of angle k·6° lies inside the pixel drawn for it.
  auto pixelHolding = [](int k, double radius) {
    const double angle = k * 6.0 * kPi / 180.0;
    return Pixel{int(std::floor(16.0 - radius * std::sin(angle))),
                 int(std::floor(16.0 + radius * std::cos(angle)))};
  };
  for (std::size_t i = 0; i < 40; ++i) {
    const Item item = d.item(Split::Train, i);
    QCOMPARE(item.height, 32);
    QCOMPARE(item.width, 32);
    const std::vector<Pixel> black = lit(item, 0);
    const std::vector<Pixel> grey = lit(item, 128);
    QCOMPARE(black.size(), std::size_t{60});
    QCOMPARE(grey.size(), std::size_t{2});
    QCOMPARE(lit(item, 255).size(), std::size_t{32 * 32 - 62});
    const std::set<Pixel> blackSet(black.begin(), black.end());
    for (int k = 0; k < 60; ++k) QVERIFY(blackSet.count(pixelHolding(k, CircleDataset::kRingRadius)));
    const std::set<Pixel> greySet(grey.begin(), grey.end());
    const int a = int(item.factors.at("a")), b = int(item.factors.at("b"));
    QVERIFY(greySet.count(pixelHolding(a, CircleDataset::kOperandRadius)));
    QVERIFY(greySet.count(pixelHolding(b, CircleDataset::kOperandRadius)));
    // And the grey marks sit at the operands' angles, seen from the centre.
    for (int k : {a, b}) {
      const Pixel p = pixelHolding(k, CircleDataset::kOperandRadius);
      const double seen = std::atan2(16.0 - (p.first + 0.5), (p.second + 0.5) - 16.0) * 180.0 / kPi;
      double diff = std::fmod(std::abs(seen - k * 6.0), 360.0);
      diff = std::min(diff, 360.0 - diff);
      QVERIFY2(diff < 4.0, qPrintable(QString("operand %1 drawn at %2°").arg(k).arg(seen)));
    }
  }
}

void TestSyntheticDatasets::dspritesGrid() {
  QCOMPARE(DSpritesDataset::kCombinationCount, std::size_t{737280});
  const DSpritesDataset d;
  QCOMPARE(d.size(Split::Train) + d.size(Split::Test), std::size_t{737280});
  QCOMPARE(d.size(Split::Test), std::size_t{184320});
  std::vector<std::size_t> perShape(3, 0);
  for (Split split : {Split::Train, Split::Test}) {
    const auto counts = classCounts(d, split);
    QCOMPARE(counts.size(), std::size_t{3});
    for (int s = 0; s < 3; ++s) perShape[s] += counts[s];
  }
  for (std::size_t n : perShape) QCOMPARE(n, std::size_t{737280 / 3});
  for (std::size_t c : {std::size_t{0}, std::size_t{12345}, std::size_t{737279}})
    QCOMPARE(DSpritesDataset::combinationOf(DSpritesDataset::factorsOf(c)), c);
}

void TestSyntheticDatasets::dspritesGeometry_data() {
  QTest::addColumn<int>("scale");
  QTest::addColumn<int>("posX");
  QTest::addColumn<int>("posY");
  QTest::newRow("smallest, top left") << 0 << 0 << 0;
  QTest::newRow("smallest, bottom right") << 0 << 31 << 31;
  QTest::newRow("middle scale, middle") << 3 << 15 << 16;
  QTest::newRow("largest, left bottom") << 5 << 0 << 31;
  QTest::newRow("largest, right top") << 5 << 31 << 0;
}

void TestSyntheticDatasets::dspritesGeometry() {
  QFETCH(int, scale);
  QFETCH(int, posX);
  QFETCH(int, posY);
  // An unrotated square: its bounding box is exactly the factors' size and place.
  DSpritesDataset::Factors f;
  f.shape = 0;
  f.scale = scale;
  f.posX = posX;
  f.posY = posY;
  Item item;
  item.height = item.width = 64;
  item.channels = 1;
  item.pixels = DSpritesDataset::render(f);
  const auto [lo, hi] = boundingBox(item);
  const double side = 2 * DSpritesDataset::kMaxHalfExtent * DSpritesDataset::scaleValue(scale);
  const double span = DSpritesDataset::kMaxCentre - DSpritesDataset::kMinCentre;
  const double cx = DSpritesDataset::kMinCentre + span * posX / 31.0;
  const double cy = DSpritesDataset::kMinCentre + span * posY / 31.0;
  QVERIFY(std::abs((hi.second - lo.second + 1) - side) <= 1.0);
  QVERIFY(std::abs((hi.first - lo.first + 1) - side) <= 1.0);
  QVERIFY(std::abs((lo.second + hi.second + 1) / 2.0 - cx) <= 0.5);
  QVERIFY(std::abs((lo.first + hi.first + 1) / 2.0 - cy) <= 0.5);

  // Two steps bigger (3.6 px, more than pixel rounding) grows the box; a few steps right
  // or down move it that way.
  if (scale + 2 < DSpritesDataset::kScaleCount) {
    DSpritesDataset::Factors bigger = f;
    bigger.scale = scale + 2;
    item.pixels = DSpritesDataset::render(bigger);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(hi2.second - lo2.second > hi.second - lo.second);
  }
  if (posX + 4 < DSpritesDataset::kPositionCount) {
    DSpritesDataset::Factors right = f;
    right.posX = posX + 4;
    item.pixels = DSpritesDataset::render(right);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(lo2.second > lo.second);
    QCOMPARE(lo2.first, lo.first);
  }
  if (posY + 4 < DSpritesDataset::kPositionCount) {
    DSpritesDataset::Factors down = f;
    down.posY = posY + 4;
    item.pixels = DSpritesDataset::render(down);
    const auto [lo2, hi2] = boundingBox(item);
    QVERIFY(lo2.first > lo.first);
    QCOMPARE(lo2.second, lo.second);
  }
}

void TestSyntheticDatasets::dspritesItemsMatchFactors() {
  DSpritesOptions o;
  o.subsample = 300;
  o.seed = 11;
  const DSpritesDataset d(o);
  QCOMPARE(d.size(Split::Train), std::size_t{225});
  QCOMPARE(d.size(Split::Test), std::size_t{75});
  const double span = DSpritesDataset::kMaxCentre - DSpritesDataset::kMinCentre;
  for (std::size_t i = 0; i < d.size(Split::Train); ++i) {
    const Item item = d.item(Split::Train, i);
    const auto [lo, hi] = boundingBox(item);
    QVERIFY(hi.first >= 0);
    const double cx = DSpritesDataset::kMinCentre + span * item.factors.at("posX");
    const double cy = DSpritesDataset::kMinCentre + span * item.factors.at("posY");
    // Squares and ellipses are symmetric about their centre; a turned heart's box is not
    // (up to 1.9 px off at scale 1).
    const double slack = item.factors.at("shape") == 2 ? 2.5 : 1.0;
    QVERIFY(std::abs((lo.second + hi.second + 1) / 2.0 - cx) <= slack);
    QVERIFY(std::abs((lo.first + hi.first + 1) / 2.0 - cy) <= slack);
    // Every shape spans 2·halfExtent along some direction and stays within the
    // halfExtent·√2 of a turned square's corners, so the scale bounds the box both ways.
    const double halfExtent = DSpritesDataset::kMaxHalfExtent * item.factors.at("scale");
    const int longer = std::max(hi.second - lo.second, hi.first - lo.first) + 1;
    QVERIFY(longer <= 2 * halfExtent * std::sqrt(2.0) + 1);
    QVERIFY(longer >= 2 * halfExtent / std::sqrt(2.0) - 1);
    for (std::uint8_t v : item.pixels) QVERIFY(v == 0 || v == 255);
  }
}

void TestSyntheticDatasets::dspritesLabelFactor_data() {
  QTest::addColumn<QString>("factor");
  QTest::addColumn<int>("classes");
  QTest::newRow("shape") << "shape" << 3;
  QTest::newRow("scale") << "scale" << 6;
  QTest::newRow("orientation") << "orientation" << 40;
  QTest::newRow("posX") << "posX" << 32;
  QTest::newRow("posY") << "posy" << 32;
}

void TestSyntheticDatasets::dspritesLabelFactor() {
  QFETCH(QString, factor);
  QFETCH(int, classes);
  DatasetOptions o;
  o.labelFactor = factor.toStdString();
  o.subsample = 500;
  const auto d = makeDataset("dsprites", o);
  QCOMPARE(int(d->classNames().size()), classes);
  const std::string key = toString(dspritesFactorFromString(factor.toStdString()));
  for (std::size_t i = 0; i < 50; ++i) {
    const Item item = d->item(Split::Test, i);
    const double value = item.factors.at(key);
    int expected = 0;
    if (key == "shape") expected = int(value);
    else if (key == "scale") expected = int(std::lround((value - 0.5) / 0.1));
    else if (key == "orientation") expected = int(std::lround(value / (2 * kPi) * 39));
    else expected = int(std::lround(value * 31));
    QCOMPARE(item.label, expected);
  }
}

void TestSyntheticDatasets::determinism_data() {
  QTest::addColumn<QString>("name");
  QTest::newRow("induction") << "induction";
  QTest::newRow("induction-polygenic") << "induction-polygenic";
  QTest::newRow("circle") << "circle";
  QTest::newRow("dsprites") << "dsprites";
}

void TestSyntheticDatasets::determinism() {
  QFETCH(QString, name);
  constexpr std::size_t kItems = 40;
  DatasetOptions a, b;
  a.seed = 7;
  b.seed = 8;
  a.subsample = b.subsample = name == "dsprites" ? 2000 : 0;
  const auto first = makeDataset(name.toStdString(), a);
  const auto again = makeDataset(name.toStdString(), a);
  const auto other = makeDataset(name.toStdString(), b);
  for (Split split : {Split::Train, Split::Test}) {
    QCOMPARE(fingerprint(*first, split, kItems), fingerprint(*again, split, kItems));
    QVERIFY(fingerprint(*first, split, kItems) != fingerprint(*other, split, kItems));
    QCOMPARE(first->size(split), other->size(split));
  }
}

QTEST_GUILESS_MAIN(TestSyntheticDatasets)
#include "tst_synthetic_datasets.moc"
