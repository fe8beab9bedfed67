"""Writing, validating and scoring ImageId,Label submissions."""
import numpy as np
import pytest

from kagglekit.errors import SubmissionError
from kagglekit.submission import (Checked, check_submission, read_ids, score_submission,
                                  write_submission)


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample_submission.csv"
    path.write_text("ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, 21)))
    return path


def good(tmp_path, n=20):
    return write_submission(tmp_path / "sub.csv", np.arange(n) % 10)


def lines(path):
    return path.read_text().splitlines()


def edit(path, row, text):
    rows = lines(path)
    rows[row] = text
    path.write_text("\n".join(rows) + "\n")
    return path


def test_write_then_validate(tmp_path, sample):
    path = good(tmp_path)
    assert lines(path)[:3] == ["ImageId,Label", "1,0", "2,1"]
    assert check_submission(path, sample).rows == 20
    assert not list(tmp_path.glob(".*tmp"))


def test_write_keeps_sample_id_order(tmp_path):
    path = write_submission(tmp_path / "s.csv", [7, 8, 9], ids=[3, 1, 2])
    assert lines(path)[1:] == ["3,7", "1,8", "2,9"]
    with pytest.raises(SubmissionError, match="3 predictions for 2 ImageIds"):
        write_submission(tmp_path / "t.csv", [1, 2, 3], ids=[1, 2])


def test_default_expects_28000_rows(tmp_path):
    with pytest.raises(SubmissionError, match="20 rows, expected 28000"):
        check_submission(good(tmp_path))


# `row` is the index into the file's lines, so the message's "line" is row + 1: Kaggle counts the
# header as line 1 and the first data row as line 2.
@pytest.mark.parametrize("row, text, message", [
    (0, "ImageId,label", "header is 'ImageId,label', expected 'ImageId,Label'; fix the first line"),
    (0, "ImageId,Label,Extra", "header is 'ImageId,Label,Extra', expected 'ImageId,Label'; fix the first line"),
    (17, "17,11", "Label has 1 value outside 0..9, first at line 18: 11"),
    (5, "5,x", "Label has 1 value not written as an integer, first at line 6: 'x'; "
               "write labels as integers, e.g. df.Label.astype(int)"),
    (5, "5,2.5", "Label has 1 value not written as an integer, first at line 6: '2.5'; "
                 "write labels as integers, e.g. df.Label.astype(int)"),
    (5, "5,8.0", "Label has 1 value not written as an integer, first at line 6: '8.0'; "
                 "write labels as integers, e.g. df.Label.astype(int)"),
    (5, "5,1e0", "Label has 1 value not written as an integer, first at line 6: '1e0'; "
                 "write labels as integers, e.g. df.Label.astype(int)"),
    (5, "5,+1", "Label has 1 value not written as an integer, first at line 6: '+1'; "
                "write labels as integers, e.g. df.Label.astype(int)"),
    (5, "5.0,1", "ImageId has 1 value not written as an integer, first at line 6: '5.0'; "
                 "write ids as integers, e.g. df.ImageId.astype(int)"),
    (5, "5,", "Label has 1 empty value, first at line 6; every row needs a Label"),
    (3, "2,3", "ImageId 2 appears more than once (again at line 4); each id must appear exactly once"),
    (20, "21,3", "1 ImageIds missing, first 20; ids must be exactly those of the sample submission (1..20)"),
    (4, "abc,1", "ImageId has 1 value not written as an integer, first at line 5: 'abc'; "
                 "write ids as integers, e.g. df.ImageId.astype(int)"),
    (4, "0,1", "ImageId has 1 value outside 1..9223372036854775807, first at line 5: 0"),
    (4, "99999999999999999999,1", "ImageId has 1 value outside 1..9223372036854775807, first at line 5: "
                                  "99999999999999999999"),
])
def test_each_failure_names_what_and_where(tmp_path, sample, row, text, message):
    path = edit(good(tmp_path), row, text)
    with pytest.raises(SubmissionError) as e:
        check_submission(path, sample)
    assert str(e.value) == f"{path}: {message}"


def test_integers_may_have_spaces_and_leading_zeros(tmp_path, sample):
    path = edit(edit(good(tmp_path), 1, " 01 , 0 "), 2, "2,  01")
    assert check_submission(path, sample).rows == 20


def test_lines_are_counted_in_the_file_past_blank_lines(tmp_path, sample):
    path = good(tmp_path)
    rows = lines(path)
    rows[3:3] = ["", ""]  # two blank lines before the data row "3,2"
    rows[5] = "3,2.0"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(SubmissionError, match="first at line 6: '2.0'"):
        check_submission(path, sample)


def test_columns_in_another_order_are_matched_by_name(tmp_path, sample):
    path = tmp_path / "swapped.csv"
    path.write_text("Label,ImageId\n" + "".join(f"{i % 10},{i}\n" for i in range(1, 21)))
    checked = check_submission(path, sample)
    assert checked == Checked(20, f"{path}: columns are in the order Label,ImageId; Kaggle matches them by "
                                  f"name, so this is fine")
    assert check_submission(good(tmp_path), sample).note == ""
    solution = tmp_path / "solution.csv"
    solution.write_text("Label,ImageId\n" + "".join(f"{i % 10 if i > 5 else 9},{i}\n" for i in range(1, 21)))
    assert score_submission(path, solution) == {"accuracy": 0.75, "n": 20}


def test_counts_several_bad_labels(tmp_path, sample):
    path = good(tmp_path)
    for row in (3, 9, 15):
        edit(path, row, f"{row},12")
    with pytest.raises(SubmissionError, match="Label has 3 values outside 0..9, first at line 4: 12$"):
        check_submission(path, sample)


def test_row_count_and_empty_and_missing(tmp_path, sample):
    with pytest.raises(SubmissionError, match="19 rows, expected 20"):
        check_submission(good(tmp_path, 19), sample)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SubmissionError, match="is empty"):
        check_submission(empty, sample)
    with pytest.raises(SubmissionError, match="not found"):
        check_submission(tmp_path / "nope.csv", sample)


def test_read_ids(sample):
    assert list(read_ids(sample)) == list(range(1, 21))


def test_score_with_public_and_private(tmp_path):
    sub = write_submission(tmp_path / "sub.csv", [1, 2, 3, 4], ids=[4, 3, 2, 1])
    solution = tmp_path / "solution.csv"
    # true labels by id: 1->4 (right), 2->3 (right), 3->0 (wrong), 4->1 (right)
    solution.write_text("ImageId,Label,Usage\n1,4,Public\n2,3,Private\n3,0,Public\n4,1,Private\n")
    result = score_submission(sub, solution)
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["public"] == pytest.approx(0.5)
    assert result["private"] == pytest.approx(1.0)


def test_score_without_usage_and_mismatched_ids(tmp_path):
    sub = write_submission(tmp_path / "sub.csv", [1, 2])
    solution = tmp_path / "solution.csv"
    solution.write_text("ImageId,Label\n1,1\n2,0\n")
    assert score_submission(sub, solution) == {"accuracy": 0.5, "n": 2}
    solution.write_text("ImageId,Label\n1,1\n3,0\n")
    with pytest.raises(SubmissionError, match="do not match those of the solution"):
        score_submission(sub, solution)
    solution.write_text("Id,Label\n1,1\n")
    with pytest.raises(SubmissionError, match="must have the columns ImageId and Label"):
        score_submission(sub, solution)
