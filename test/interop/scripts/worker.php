<?php
// A PHP (pecl-gearman / libgearman) worker for the interop tests.
// Usage: php worker.php PORT NAME=BEHAVIOUR [NAME=BEHAVIOUR ...]
// Prints one JSON line per event on stdout so the test can wait for it.
declare(strict_types=1);

function say(array $event): void
{
    fwrite(STDOUT, json_encode($event + ['pid' => getmypid()]) . "\n");
    fflush(STDOUT);
}

function run(string $behaviour, GearmanJob $job): ?string
{
    $payload = $job->workload();
    say(['event' => 'start', 'fn' => $job->functionName(), 'handle' => $job->handle(), 'unique' => $job->unique(), 'payload' => $payload]);
    switch ($behaviour) {
        case 'reverse':
            return strrev($payload);
        case 'progress':
            // The packets a client should see, in order, before the result.
            $job->sendStatus(1, 3);
            $job->sendData('chunk-1');
            $job->sendWarning('warn-1');
            $job->sendStatus(2, 3);
            $job->sendData('chunk-2');
            $job->sendStatus(3, 3);
            return 'all-done:' . $payload;
        case 'fail':
            $job->sendFail();
            return null;
        case 'exception':
            $job->sendException('boom: ' . $payload);
            return null;
        case 'hold':
            // Reports progress, then waits for a line on stdin (or to be killed) before completing.
            $job->sendStatus(1, 2);
            say(['event' => 'holding', 'handle' => $job->handle(), 'payload' => $payload]);
            $line = fgets(STDIN);
            return 'released:' . $payload . ':' . trim((string)$line);
        default:
            fwrite(STDERR, "unknown behaviour $behaviour\n");
            exit(2);
    }
}

$port = (int)$argv[1];
$worker = new GearmanWorker();
$worker->addServer('127.0.0.1', $port);
foreach (array_slice($argv, 2) as $spec) {
    [$name, $behaviour] = explode('=', $spec, 2);
    $worker->addFunction($name, static fn (GearmanJob $job): ?string => run($behaviour, $job));
}
while ($worker->work() || $worker->returnCode() === GEARMAN_IO_WAIT || $worker->returnCode() === GEARMAN_NO_JOBS) {
    if ($worker->returnCode() !== GEARMAN_SUCCESS && $worker->returnCode() !== GEARMAN_IO_WAIT && $worker->returnCode() !== GEARMAN_NO_JOBS) {
        break;
    }
}
fwrite(STDERR, 'worker stopped: ' . $worker->error() . "\n");
exit(1);
