using System.Text.Json;
using Folio.Gateway.Batches;
using Folio.Gateway.Options;
using Microsoft.Extensions.Configuration;

namespace Folio.Gateway.Tests.Unit;

public sealed class BatchApiUnitTests
{
    [Fact]
    public void File_ids_map_to_their_keys_and_anything_else_is_no_file()
    {
        const string P = "folio:stream:";
        string upload = BatchApiKeys.NewFileId();
        Assert.Equal(P + "~file:" + upload, BatchApiKeys.FileKey(P, upload));
        string batch = BatchApiKeys.BatchId(new byte[32]);
        Assert.True(BatchApiKeys.IsBatchId(batch));
        Assert.Equal("{folio:stream:~batch:" + batch + "}~file:output", BatchApiKeys.FileKey(P, BatchApiKeys.OutputFileId(batch)));
        Assert.Equal("{folio:stream:~batch:" + batch + "}~file:errors", BatchApiKeys.FileKey(P, BatchApiKeys.ErrorFileId(batch)));
        Assert.Equal("{folio:stream:~batch:" + batch + "}~openai", BatchApiKeys.Record(P, batch));

        // Ids a client makes up never name another key (no braces, no colons, no other prefix).
        foreach (string bad in new[] { "file-", "file-xyz", "file-" + new string('A', 24), "file-output-batch_x", "file-output-" + batch + "x", "../file", "file-0000000000000000000000000" })
        {
            Assert.Null(BatchApiKeys.FileKey(P, bad));
        }

        Assert.False(BatchApiKeys.IsBatchId("batch_" + new string('0', 23) + "}"));
    }

    [Fact]
    public void Invalid_lines_and_error_lines_are_in_OpenAIs_shapes()
    {
        string line = BatchJson.ErrorLine("batch_req_x", null, "invalid_request", "line 2: not JSON");
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("custom_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("response").ValueKind);
        Assert.Equal("invalid_request", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.False(BatchJson.IsSuccess(line));
        Assert.True(BatchJson.IsSuccess("""{"id":"a","custom_id":"b","response":{"status_code":200,"body":{}},"error":null}"""));

        var invalid = new List<InvalidLine> { new(3, "invalid_url", "url differs", "c") };
        string json = JsonSerializer.Serialize(invalid, BatchJson.SerializerOptions);
        Assert.Contains("\"custom_id\":\"c\"", json, StringComparison.Ordinal);
        Assert.Equal(invalid, JsonSerializer.Deserialize<List<InvalidLine>>(json, BatchJson.SerializerOptions));
    }

    [Fact]
    public void File_size_and_batch_ttl_are_read_and_validated_naming_the_key()
    {
        var failures = new GatewayOptionsValidator().Validate(null, new GatewayOptions { AllowAnonymous = true, MaxFileBytes = 10 }).Failures!;
        Assert.Contains("Folio:Gateway:MaxFileBytes", string.Join('\n', failures), StringComparison.Ordinal);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Folio:Redis:BatchTtlSeconds"] = "0" }).Build();
        var queue = GatewayQueueOptions.Read(config);
        Assert.Equal(0, queue.BatchTtlSeconds);
        Assert.Contains("Folio:Redis:BatchTtlSeconds", string.Join('\n', new GatewayQueueOptionsValidator().Validate(null, queue).Failures!), StringComparison.Ordinal);
        Assert.Equal(Folio.Contracts.BatchKeys.DefaultTtlSeconds, GatewayQueueOptions.Read(new ConfigurationBuilder().Build()).BatchTtlSeconds);
    }
}
