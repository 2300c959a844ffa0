"""Question profiles (`qa.query.answer_types`): the kind of fact a question asks for, and which sentences give it."""

from qa.query.answer_types import holds, profile, satisfies


def test_question_profiles_ask_for_the_right_kind_of_fact():
    money = profile("How much did Amazon pay for Joyo.com?")
    assert money.kinds == {"money"}
    assert not satisfies("Joyo.com only lasted four years before being sold to Amazon.", money)
    assert satisfies("It cost 5.2 billion yuan.", money)
    count = profile("How many employees does Xiaomi have?")
    assert count.kinds == {"count", "number"} and count.count_noun == "employe"
    assert not holds("its annual delivery volume of 135,000 vehicles", "count", count)
    assert satisfies("delivered 135,000 vehicles", profile("How many vehicles did Xiaomi deliver?"))
    assert profile("When did Xiaomi go public?").kinds == {"time"}
    assert profile("Who bought Joyo.com?").kinds == {"person"}
    assert profile("Does Xiaomi sell laptops?").kinds == {"yes_no"}
    assert profile("In 2011, what did Lei Jun wear?").numbers == ["2011"]


def test_a_leading_condition_clause_does_not_set_the_kind_of_fact():
    assert profile("When tqdm is used in a shell pipe, which stream does the bar go to?").kinds == frozenset()
    assert profile("When Lei Jun joined Kingsoft, who was his mentor?").kinds == {"person"}
    assert profile("Once the symptoms appeared, when did the patients recover?").kinds == {"time"}
    assert profile("If the total is unknown, how many bars are drawn?").kinds == {"count", "number"}
    assert profile("When did Xiaomi announce its people, cars, and homes strategy?").kinds == {"time"}
    assert profile("When was WHO notified about the epidemic in Wuhan City, China?").kinds == {"time"}
