#pragma once
// main() for the training suites: first the same process set-up as the `prisma`
// executable (re-executed with the tuned OPENBLAS_CORETYPE and OMP_WAIT_POLICY=PASSIVE,
// the allocator's thresholds set), because training with LibTorch's OpenMP threads
// spinning against OpenBLAS' on two cores was measured 12x slower (resume test: 114 s
// against 9 s).

#include "model/runtime/Runtime.h"

#include <QCoreApplication>
#include <QtTest>

#define PRISMA_TRAIN_TEST_MAIN(TestClass)                          \
  int main(int argc, char** argv) {                                \
    prisma::runtime::reexecWithTunedBlasIfNeeded(argv);            \
    prisma::runtime::configureThreads();                           \
    prisma::runtime::configureAllocator();                         \
    QCoreApplication app(argc, argv);                              \
    TestClass test;                                                \
    QTEST_SET_MAIN_SOURCE_PATH                                     \
    return QTest::qExec(&test, argc, argv);                        \
  }
