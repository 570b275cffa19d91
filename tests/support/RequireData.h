#pragma once
// Tests that need a real data set (MNIST, Fashion-MNIST) skip when it is absent on a
// developer's machine, but CI sets PRISMA_REQUIRE_DATA=1: there a missing data set is a
// broken set-up, and a learning check that quietly skips would hide it.

#include <QTest>
#include <QtGlobal>

namespace prisma::test {

inline bool dataRequired() { return qEnvironmentVariableIntValue("PRISMA_REQUIRE_DATA") != 0; }

}  // namespace prisma::test

// Skips the test -- or fails it under PRISMA_REQUIRE_DATA=1 -- saying which data is missing.
#define PRISMA_SKIP_WITHOUT_DATA(message)                                                  \
  do {                                                                                     \
    if (prisma::test::dataRequired()) QFAIL(qPrintable(QString("required data missing (PRISMA_REQUIRE_DATA=1): ") + (message))); \
    QSKIP(qPrintable(message));                                                            \
  } while (false)
