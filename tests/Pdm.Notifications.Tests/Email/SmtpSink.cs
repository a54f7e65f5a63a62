using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Pdm.Notifications.Tests.Email;

/// <summary>A real SMTP server (the SmtpServer package) on a free loopback port that keeps what it receives.</summary>
public sealed class SmtpSink : IAsyncDisposable
{
    /// <summary>RCPT TO this address is answered 550.</summary>
    public const string UnknownRecipient = "nobody@plant.example";

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly Store _store = new();

    public SmtpSink()
    {
        Port = FreePort.Pick();
        var options = new SmtpServerOptionsBuilder().ServerName("sink.test")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port))).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(_store);
        services.Add(new RecipientFilter());
        var server = new SmtpServer.SmtpServer(options, services);
        _running = server.StartAsync(_stop.Token);
    }

    public int Port { get; }

    public IReadOnlyCollection<Received> Messages => _store.Messages;

    /// <summary>What the next DATA is answered with; null accepts it.</summary>
    public SmtpResponse? AnswerToData { get => _store.Answer; set => _store.Answer = value; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    public sealed record Received(string From, IReadOnlyList<string> To, MimeMessage Message);

    private sealed class Store : MessageStore
    {
        public ConcurrentQueue<Received> Queue { get; } = new();

        public IReadOnlyCollection<Received> Messages => Queue;

        public SmtpResponse? Answer { get; set; }

        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
            CancellationToken cancellationToken)
        {
            if (Answer is { } answer)
            {
                return Task.FromResult(answer);
            }
            using var stream = new MemoryStream(buffer.ToArray());
            Queue.Enqueue(new Received(Address(transaction.From), [.. transaction.To.Select(Address)], MimeMessage.Load(stream, cancellationToken)));
            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    private sealed class RecipientFilter : IMailboxFilter
    {
        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken) =>
            Task.FromResult(true);

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken) =>
            Task.FromResult(Address(to) != UnknownRecipient);
    }

    private static string Address(IMailbox mailbox) => $"{mailbox.User}@{mailbox.Host}";
}
