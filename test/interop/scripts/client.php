<?php
// A PHP (pecl-gearman / libgearman) client for the interop tests.
// Usage: php client.php PORT MODE ARGS...
//   fg|fg-high|fg-low FN PAYLOAD [UNIQUE]   foreground task; prints created, data, warning, status, complete|fail|exception
//   bg|bg-high|bg-low FN PAYLOAD [UNIQUE]   background job; prints created with the handle
//   batch FN N                             N x (background, foreground, high background) tasks pipelined on one
//                                          connection by one runTasks(); each event names its task's workload
//   status HANDLE                          GET_STATUS through jobStatus()
//   status-unique UNIQUE                   GET_STATUS_UNIQUE through jobStatusByUniqueKey()
// Prints one JSON line per event on stdout. Exceptions are on (addServer() asks for them).
declare(strict_types=1);

function say(array $event): void
{
    fwrite(STDOUT, json_encode($event) . "\n");
    fflush(STDOUT);
}

$port = (int)$argv[1];
$mode = $argv[2];
$client = new GearmanClient();
$client->setTimeout(15000);
if (!$client->addServer('127.0.0.1', $port)) {
    fwrite(STDERR, 'addServer failed: ' . $client->error() . "\n");
    exit(1);
}

switch ($mode) {
    case 'fg':
    case 'fg-high':
    case 'fg-low':
        [$fn, $payload] = [$argv[3], $argv[4]];
        $unique = $argv[5] ?? null;
        $client->setCreatedCallback(static fn (GearmanTask $t) => say(['event' => 'created', 'handle' => $t->jobHandle()]));
        $client->setDataCallback(static fn (GearmanTask $t) => say(['event' => 'data', 'handle' => $t->jobHandle(), 'data' => $t->data()]));
        $client->setWarningCallback(static fn (GearmanTask $t) => say(['event' => 'warning', 'handle' => $t->jobHandle(), 'data' => $t->data()]));
        $client->setStatusCallback(static fn (GearmanTask $t) => say(['event' => 'status', 'handle' => $t->jobHandle(), 'numerator' => $t->taskNumerator(), 'denominator' => $t->taskDenominator()]));
        $client->setCompleteCallback(static fn (GearmanTask $t) => say(['event' => 'complete', 'handle' => $t->jobHandle(), 'data' => $t->data()]));
        $client->setFailCallback(static fn (GearmanTask $t) => say(['event' => 'fail', 'handle' => $t->jobHandle()]));
        $client->setExceptionCallback(static fn (GearmanTask $t) => say(['event' => 'exception', 'handle' => $t->jobHandle(), 'data' => $t->data()]));
        $add = ['fg' => 'addTask', 'fg-high' => 'addTaskHigh', 'fg-low' => 'addTaskLow'][$mode];
        $unique === null ? $client->$add($fn, $payload) : $client->$add($fn, $payload, null, $unique);
        $ok = $client->runTasks();
        say(['event' => 'done', 'ok' => $ok, 'returnCode' => $client->returnCode()]);
        exit(0);
    case 'bg':
    case 'bg-high':
    case 'bg-low':
        [$fn, $payload] = [$argv[3], $argv[4]];
        $unique = $argv[5] ?? null;
        $do = ['bg' => 'doBackground', 'bg-high' => 'doHighBackground', 'bg-low' => 'doLowBackground'][$mode];
        $handle = $unique === null ? $client->$do($fn, $payload) : $client->$do($fn, $payload, $unique);
        if ($client->returnCode() !== GEARMAN_SUCCESS) {
            fwrite(STDERR, "$do failed: " . $client->error() . "\n");
            exit(1);
        }
        say(['event' => 'created', 'handle' => $handle]);
        exit(0);
    case 'batch':
        [$fn, $n] = [$argv[3], (int)$argv[4]];
        $client->setCreatedCallback(static fn (GearmanTask $t, $workload) => say(['event' => 'created', 'handle' => $t->jobHandle(), 'workload' => $workload]));
        $client->setCompleteCallback(static fn (GearmanTask $t, $workload) => say(['event' => 'complete', 'handle' => $t->jobHandle(), 'workload' => $workload, 'data' => $t->data()]));
        for ($i = 0; $i < $n; $i++) {
            $client->addTaskBackground($fn, "bg$i", "bg$i");
            $client->addTask($fn, "fg$i", "fg$i");
            $client->addTaskHighBackground($fn, "hb$i", "hb$i");
        }
        $ok = $client->runTasks();
        say(['event' => 'done', 'ok' => $ok, 'returnCode' => $client->returnCode()]);
        exit(0);
    case 'status-unique':
        [$known, $running, $numerator, $denominator] = $client->jobStatusByUniqueKey($argv[3]);
        say(['event' => 'status', 'known' => $known, 'running' => $running, 'numerator' => $numerator, 'denominator' => $denominator]);
        exit(0);
    case 'status':
        [$known, $running, $numerator, $denominator] = $client->jobStatus($argv[3]);
        say(['event' => 'status', 'known' => $known, 'running' => $running, 'numerator' => $numerator, 'denominator' => $denominator]);
        exit(0);
    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(2);
}
