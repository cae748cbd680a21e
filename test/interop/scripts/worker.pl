#!/usr/bin/perl
# A Perl (Gearman::Worker) worker for the interop tests.
# Usage: perl worker.pl PORT NAME=BEHAVIOUR [NAME=BEHAVIOUR ...]
# Prints one JSON line per event on stdout so the test can wait for it. With LAZARET_TLS_CA (and
# LAZARET_TLS_CERT, LAZARET_TLS_KEY) set, it speaks TLS.
use strict;
use warnings;
use Gearman::Worker;
use JSON::PP;
use IO::Handle;

STDOUT->autoflush(1);
my $json = JSON::PP->new->canonical;
sub say_event { my (%event) = @_; print $json->encode({ %event, pid => $$ }), "\n"; }

# TLS when LAZARET_TLS_CA is set (Gearman::Objects passes ca_file, cert_file, key_file to IO::Socket::SSL).
sub job_server {
    my ($port) = @_;
    return "127.0.0.1:$port" unless $ENV{LAZARET_TLS_CA};
    return { host => '127.0.0.1', port => $port, use_ssl => 1, ca_file => $ENV{LAZARET_TLS_CA},
        ($ENV{LAZARET_TLS_CERT} ? (cert_file => $ENV{LAZARET_TLS_CERT}, key_file => $ENV{LAZARET_TLS_KEY}) : ()) };
}

my ($port, @specs) = @ARGV;
my $worker = Gearman::Worker->new(job_servers => [job_server($port)], client_id => "perl-worker-$$");

my %behaviours = (
    reverse => sub { my ($job) = @_; return scalar reverse $job->arg; },
    progress => sub {
        my ($job) = @_;
        $job->set_status(1, 2);
        $worker->send_work_data($job, 'perl-chunk');
        $job->set_status(2, 2);
        return 'perl-done:' . $job->arg;
    },
    # Returning undef makes Gearman::Worker send WORK_FAIL.
    fail => sub { return undef; },
    # Dying makes Gearman::Worker send WORK_EXCEPTION and then WORK_FAIL for the same handle (B15).
    die => sub { my ($job) = @_; die 'perl-boom: ' . $job->arg . "\n"; },
    # Dies of SIGSEGV on the payload "segv" (as a native extension would); anything else is reversed.
    segv => sub {
        my ($job) = @_;
        return scalar reverse $job->arg unless $job->arg eq 'segv';
        print STDERR 'about to crash on ' . $job->handle . "\n";
        kill 'SEGV', $$;
        sleep 10;
        return undef;
    },
    # Reports progress, then waits for a line on stdin (or to be killed) before completing.
    hold => sub {
        my ($job) = @_;
        $job->set_status(1, 2);
        say_event(event => 'holding', handle => $job->handle, payload => $job->arg);
        my $line = <STDIN>;
        $line = '' unless defined $line;
        chomp $line;
        return 'released:' . $job->arg . ':' . $line;
    },
);

for my $spec (@specs) {
    my ($name, $behaviour) = split /=/, $spec, 2;
    my $run = $behaviours{$behaviour} or die "unknown behaviour $behaviour\n";
    $worker->register_function($name => sub {
        my ($job) = @_;
        say_event(event => 'start', fn => $name, handle => $job->handle, payload => $job->arg);
        return $run->($job);
    });
}

$worker->work(
    on_complete => sub { say_event(event => 'complete', handle => $_[0]); },
    on_fail     => sub { say_event(event => 'fail', handle => $_[0]); },
);
