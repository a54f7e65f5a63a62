using Azure.Core;
using Azure.Core.Pipeline;
using Pdm.Messaging.Storage;

namespace Pdm.Messaging.Tests;

/// <summary>
/// The expected strings follow "Authorize with Shared Key" (Blob, Queue and File services) line by line. The
/// expected signatures were computed outside .NET, from those exact strings, with
///   KEYHEX=$(printf '%s' "$DEV_KEY" | base64 -d | xxd -p -c 256)
///   printf '&lt;string to sign&gt;' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEYHEX -binary | base64
/// where DEV_KEY is the well-known Azurite key (<see cref="StorageConnectionString.DevelopmentAccountKey"/>).
/// The integration tests then check that Azurite accepts what the policy signs.
/// </summary>
public sealed class StorageSharedKeyPolicyTests
{
    private const string Account = "devstoreaccount1";
    private const string Date = "Mon, 06 Jan 2025 10:00:00 GMT";

    private static readonly HttpPipeline Pipeline = HttpPipelineBuilder.Build(new StorageClientOptions());

    private static Request BlobPut()
    {
        var request = Pipeline.CreateRequest();
        request.Method = RequestMethod.Put;
        request.Uri.Reset(new Uri("http://127.0.0.1:10000/devstoreaccount1/models/line%201/pump.onnx?timeout=30"));
        request.Headers.SetValue("x-ms-version", "2021-08-06");
        request.Headers.SetValue("x-ms-date", Date);
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        request.Headers.SetValue("x-ms-client-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e");
        request.Headers.SetValue("Content-Type", "application/octet-stream");
        request.Headers.SetValue("If-None-Match", "*");
        request.Headers.SetValue("User-Agent", "not signed");
        request.Content = RequestContent.Create("hello world"u8.ToArray());
        return request;
    }

    private static Request QueueDelete()
    {
        var request = Pipeline.CreateRequest();
        request.Method = RequestMethod.Delete;
        request.Uri.Reset(new Uri(
            "http://127.0.0.1:10001/devstoreaccount1/alerts/messages/abc-123?VisibilityTimeout=30&popreceipt=AgAAAAMAAAAAAAAA%2F%2B%3D"));
        request.Headers.SetValue("x-ms-version", "2021-08-06");
        request.Headers.SetValue("x-ms-date", Date);
        return request;
    }

    [Fact]
    public void Blob_put_string_to_sign_has_length_type_conditions_sorted_ms_headers_and_the_path_style_resource()
    {
        using var request = BlobPut();

        var expected = "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n*\n\n\n"
            + "x-ms-blob-type:BlockBlob\n"
            + "x-ms-client-request-id:0f8fad5b-d9cb-469f-a165-70867728950e\n"
            + $"x-ms-date:{Date}\n"
            + "x-ms-version:2021-08-06\n"
            + "/devstoreaccount1/devstoreaccount1/models/line%201/pump.onnx\n"
            + "timeout:30";
        Assert.Equal(expected, StorageSharedKeyPolicy.BuildStringToSign(request, Account));
    }

    [Fact]
    public void Query_parameters_are_lower_cased_sorted_and_unescaped_and_a_missing_body_signs_an_empty_length()
    {
        using var request = QueueDelete();

        var expected = "DELETE\n\n\n\n\n\n\n\n\n\n\n\n"
            + $"x-ms-date:{Date}\n"
            + "x-ms-version:2021-08-06\n"
            + "/devstoreaccount1/devstoreaccount1/alerts/messages/abc-123\n"
            + "popreceipt:AgAAAAMAAAAAAAAA/+=\n"
            + "visibilitytimeout:30";
        Assert.Equal(expected, StorageSharedKeyPolicy.BuildStringToSign(request, Account));
    }

    [Theory]
    [InlineData("blob", "VI7Fp3oFokRUXV9xZNTUMRcM2UGICky7m3zI3OKg65E=")]
    [InlineData("queue", "e13QeDVo8FPUb65BAS4+LXZaLalrI8yN7MoVVakfJ6M=")]
    public void Signatures_match_hmac_sha256_computed_independently(string example, string expectedSignature)
    {
        using var request = example == "blob" ? BlobPut() : QueueDelete();

        var signature = StorageSharedKeyPolicy.ComputeSignature(
            StorageSharedKeyPolicy.BuildStringToSign(request, Account),
            Convert.FromBase64String(StorageConnectionString.DevelopmentAccountKey));

        Assert.Equal(expectedSignature, signature);
    }

    [Fact]
    public void The_policy_stamps_the_date_and_sets_the_authorization_header()
    {
        var policy = new StorageSharedKeyPolicy(
            Account, StorageConnectionString.DevelopmentAccountKey, new FixedTime(new DateTimeOffset(2025, 1, 6, 10, 0, 0, TimeSpan.Zero)));
        var message = Pipeline.CreateMessage();
        message.Request.Method = RequestMethod.Delete;
        message.Request.Uri.Reset(new Uri(
            "http://127.0.0.1:10001/devstoreaccount1/alerts/messages/abc-123?VisibilityTimeout=30&popreceipt=AgAAAAMAAAAAAAAA%2F%2B%3D"));
        message.Request.Headers.SetValue("x-ms-version", "2021-08-06");

        policy.OnSendingRequest(message);

        Assert.True(message.Request.Headers.TryGetValue("x-ms-date", out var date));
        Assert.Equal(Date, date);
        Assert.True(message.Request.Headers.TryGetValue("Authorization", out var authorization));
        Assert.Equal("SharedKey devstoreaccount1:e13QeDVo8FPUb65BAS4+LXZaLalrI8yN7MoVVakfJ6M=", authorization);
        message.Dispose();
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
