#!/usr/bin/perl
# A Perl (Gearman::Client) client for the interop tests.
# Usage: perl client.pl PORT MODE ARGS...
#   fg|fg-exc FN PAYLOAD [UNIQUE]     foreground task (fg-exc: with exceptions => 1); prints status, data,
#                                     complete | fail | exception
#   bg|bg-high|bg-low FN PAYLOAD [UNIQUE]   background job; prints created with the handle
#   status HANDLE                     GET_STATUS through get_status()
# Prints one JSON line per event on stdout. With LAZARET_TLS_CA (and LAZARET_TLS_CERT, LAZARET_TLS_KEY) set,
# it speaks TLS.
use strict;
use warnings;
use Gearman::Client;
use JSON::PP;
use Storable ();
use IO::Handle;

STDOUT->autoflush(1);
my $json = JSON::PP->new->canonical;
sub say_event { my (%event) = @_; print $json->encode(\%event), "\n"; }

# TLS when LAZARET_TLS_CA is set (Gearman::Objects passes ca_file, cert_file, key_file to IO::Socket::SSL).
sub job_server {
    my ($port) = @_;
    return "127.0.0.1:$port" unless $ENV{LAZARET_TLS_CA};
    return { host => '127.0.0.1', port => $port, use_ssl => 1, ca_file => $ENV{LAZARET_TLS_CA},
        ($ENV{LAZARET_TLS_CERT} ? (cert_file => $ENV{LAZARET_TLS_CERT}, key_file => $ENV{LAZARET_TLS_KEY}) : ()) };
}

my ($port, $mode, @args) = @ARGV;
my $client = Gearman::Client->new(
    job_servers => [job_server($port)],
    exceptions  => ($mode eq 'fg-exc' ? 1 : 0),
);

if ($mode eq 'fg' || $mode eq 'fg-exc') {
    my ($fn, $payload, $uniq) = @args;
    my $result = $client->do_task($fn, $payload, {
        (defined $uniq ? (uniq => $uniq) : ()),
        timeout      => 15,
        on_status    => sub { say_event(event => 'status', numerator => $_[0], denominator => $_[1]); },
        on_data      => sub { say_event(event => 'data', data => ${ $_[0] }); },
        on_complete  => sub { say_event(event => 'complete', data => ${ $_[0] }); },
        on_fail      => sub { say_event(event => 'fail', reason => $_[0]); },
        on_exception => sub {
            # Gearman::Task hands over Storable layers: the client's own, then the worker's nfreeze.
            my $text = $_[0];
            for (1 .. 2) {
                my $thawed = eval { Storable::thaw($text) };
                last unless ref $thawed eq 'SCALAR';
                $text = $$thawed;
            }
            say_event(event => 'exception', data => $text);
        },
    });
    say_event(event => 'done', ok => (defined $result ? JSON::PP::true : JSON::PP::false));
}
elsif ($mode =~ /^bg(?:-(high|low))?$/) {
    my $priority = $1 // 'normal';
    my ($fn, $payload, $uniq) = @args;
    my $handle = $client->dispatch_background($fn, $payload, { (defined $uniq ? (uniq => $uniq) : ()), priority => $priority });
    die "dispatch_background failed\n" unless defined $handle;
    say_event(event => 'created', handle => $handle);
}
elsif ($mode eq 'status') {
    my $status = $client->get_status($args[0]);
    die "get_status failed\n" unless $status;
    say_event(event => 'status', known => ($status->known ? 1 : 0), running => ($status->running ? 1 : 0),
        progress => [map { defined $_ ? 0 + $_ : undef } @{ $status->progress || [undef, undef] }]);
}
else {
    die "unknown mode $mode\n";
}
